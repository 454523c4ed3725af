
use builtin;
use str;

set edit:completion:arg-completer[s3-credentials-fetch] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 's3-credentials-fetch'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'s3-credentials-fetch'= {
            cand -p 'The server''s port, which picks its default Unix socket'
            cand --port 'The server''s port, which picks its default Unix socket'
            cand --socket 'The server''s Unix socket'
            cand --url 'URL to ask over TCP, e.g. http://127.0.0.1:8094/'
            cand --server-uid 'The uid the server must run as [default: your own]; a server run by anyone else is refused'
            cand --timeout 'Seconds to wait for an answer'
            cand --format 'How to print the credential, as aws configure export-credentials does: process (the credential_process JSON), env, env-no-export, fish or powershell'
            cand --scope 'Ask for the named scope (/scope/NAME) instead of the default one'
            cand --bucket 'Narrow the credential to this one of the scope''s buckets; repeatable'
            cand --prefix 'Narrow the credential to this prefix, which must extend the scope''s'
            cand --read-only 'Narrow the credential to reading (of a read-write or read-only scope)'
            cand --write-only 'Narrow the credential to writing (of a read-write or write-only scope)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
