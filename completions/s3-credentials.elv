
use builtin;
use str;

set edit:completion:arg-completer[s3-credentials] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 's3-credentials'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'s3-credentials'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand localserver 'Start a localhost server that serves S3 credentials'
            cand exec 'Run a command with credentials for BUCKET... and nothing else'
            cand container-env 'Print what a container needs for one scope of a running localserver'
            cand doctor 'Say what is wrong before you go looking: one line per check'
            cand verify 'Prove the scope is enforced: harmless requests it must refuse'
            cand policy 'Print the session policy that localserver would use'
            cand generate 'Generate the man pages or a shell''s completions, for packagers'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'s3-credentials;localserver'= {
            cand --prefix 'Restrict to keys starting with this prefix'
            cand --statement 'JSON statement to add to the policy (repeatable)'
            cand --config 'Named scopes from a TOML file, served at /scope/NAME (localserver re-reads it on SIGHUP)'
            cand -d 'How long each credential is valid for, e.g. 15m, 1h, 12h (900s..12h)'
            cand --duration 'How long each credential is valid for, e.g. 15m, 1h, 12h (900s..12h)'
            cand -p 'TCP port to serve on (0 picks a free one)'
            cand --port 'TCP port to serve on (0 picks a free one)'
            cand --host 'Host to bind; localhost binds 127.0.0.1 and ::1'
            cand --socket 'Unix socket path [default: $XDG_RUNTIME_DIR/s3-credentials/PORT.sock, or $TMPDIR/s3-credentials-UID/PORT.sock without XDG_RUNTIME_DIR]'
            cand --idle-exit 'Exit (status 0) after this many seconds without a request; with socket activation, systemd starts it again on the next connection'
            cand --imds-port 'Also serve the default scope as EC2''s IMDSv2 on 127.0.0.1:PORT (0 picks a free one)'
            cand --auth-token-file 'Require the header Authorization: TOKEN, with the token in FILE, on every TCP request'
            cand --container-endpoint 'Also serve containers on [ADDR:]PORT (ADDR 169.254.170.2 unless given, which must be on an interface); every request there needs a scope''s token_file token (or --auth-token-file''s)'
            cand --gateway 'Serve an S3 gateway on [ADDR:]PORT (127.0.0.1 unless given; 0 picks a free port): the buckets on the command line are then served through it, as are config scopes with serve = "gateway". Their clients get local credentials, good only there; the real one stays here'
            cand --allow-uid 'Also serve this uid (a service account) every scope over TCP, IMDS and the socket; repeatable. By default only your own uid is served'
            cand --log-format 'How to write stderr: text, or one JSON object per line (startup lines too)'
            cand --role-arn 'Role to assume [default: s3-credentials.AmazonS3FullAccess, created if missing]'
            cand --profile 'AWS profile to use'
            cand --access-key 'AWS access key ID (with --secret-key; prefer --auth FILE: command lines are visible to other users)'
            cand --secret-key 'AWS secret access key'
            cand --session-token 'AWS session token, for temporary keys'
            cand -a 'Path to JSON/INI file containing credentials (- for standard input)'
            cand --auth 'Path to JSON/INI file containing credentials (- for standard input)'
            cand --region 'AWS region, e.g. us-east-1'
            cand --endpoint-url 'Send every AWS call to this endpoint (e.g. a local S3/STS server)'
            cand --read-only 'Only allow reading from the bucket'
            cand --write-only 'Only allow writing to the bucket'
            cand --no-socket 'Serve over TCP only, with no Unix socket'
            cand --attribute 'Give each caller (your user and the program, or an allowed uid''s) of the buckets on the command line its own STS session, named for it in CloudTrail (RoleSessionName, SourceIdentity, session tags); with --gateway, the gateway''s S3 calls for it go out in that session. A --config scope says attribute = "caller" instead'
            cand -q 'Do not log each request'
            cand --quiet 'Do not log each request'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'s3-credentials;exec'= {
            cand --prefix 'Restrict to keys starting with this prefix'
            cand --statement 'JSON statement to add to the policy (repeatable)'
            cand --config 'Named scopes from a TOML file, served at /scope/NAME (localserver re-reads it on SIGHUP)'
            cand -d 'How long each credential is valid for, e.g. 15m, 1h, 12h (900s..12h)'
            cand --duration 'How long each credential is valid for, e.g. 15m, 1h, 12h (900s..12h)'
            cand --scope 'Which scope: of the --config file [default: its default scope], or with --server, of the server''s [default: the one it serves at /]'
            cand -p 'The server''s port, which picks its default Unix socket'
            cand --port 'The server''s port, which picks its default Unix socket'
            cand --socket 'The server''s Unix socket'
            cand --bucket 'Narrow the scope (of --config or --server) to this one of its buckets; repeatable'
            cand --role-arn 'Role to assume [default: s3-credentials.AmazonS3FullAccess, created if missing]'
            cand --profile 'AWS profile to use'
            cand --access-key 'AWS access key ID (with --secret-key; prefer --auth FILE: command lines are visible to other users)'
            cand --secret-key 'AWS secret access key'
            cand --session-token 'AWS session token, for temporary keys'
            cand -a 'Path to JSON/INI file containing credentials (- for standard input)'
            cand --auth 'Path to JSON/INI file containing credentials (- for standard input)'
            cand --region 'AWS region, e.g. us-east-1'
            cand --endpoint-url 'Send every AWS call to this endpoint (e.g. a local S3/STS server)'
            cand --read-only 'Only allow reading from the bucket'
            cand --write-only 'Only allow writing to the bucket'
            cand --server 'Take the credential from a running localserver, over its Unix socket, instead of from AWS: exec then needs no AWS keys'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'s3-credentials;container-env'= {
            cand --scope 'The scope the container gets (one with a token_file)'
            cand --format 'How to print: docker (for docker run --env-file), compose (an environment: map) or env (export lines for a shell)'
            cand --token-file-at 'Name a token file at PATH inside the container (bind-mount the scope''s token_file there) instead of printing the token'
            cand -p 'The server''s port, which picks its default Unix socket'
            cand --port 'The server''s port, which picks its default Unix socket'
            cand --socket 'The server''s Unix socket'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'s3-credentials;doctor'= {
            cand -p 'The server''s port: its default socket, then TCP'
            cand --port 'The server''s port: its default socket, then TCP'
            cand --profile 'Check only this AWS profile''s credential_process'
            cand --config 'Check this file''s scopes (and, with AWS access, against AWS)'
            cand -d 'The --duration localserver is given, for scopes without their own'
            cand --duration 'The --duration localserver is given, for scopes without their own'
            cand --endpoint-url 'Where AWS is, for the AWS checks [default: AWS_ENDPOINT_URL, the profile''s, AWS], e.g. the demo''s moto'
            cand --json 'One JSON object: {"ok", "checks": [{"name", "status", "message"}]}'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'s3-credentials;verify'= {
            cand -p 'The server''s port, which picks its default Unix socket'
            cand --port 'The server''s port, which picks its default Unix socket'
            cand --socket 'The server''s Unix socket'
            cand --scope 'The scope to verify [default: the one the server serves at /]'
            cand --outside-bucket 'A bucket outside the scope, which it must not reach'
            cand --outside-key 'An existing key outside the scope''s prefix, which it must not read (a missing one proves nothing on some backends)'
            cand --prefix 'Narrow the credential first, as s3-credentials-fetch does, and verify the narrowed one: to this prefix'
            cand --endpoint-url 'Where S3 is [default: AWS_ENDPOINT_URL(_S3), the profile''s, AWS]'
            cand --read-only 'Narrow to reading'
            cand --write-only 'Narrow to writing'
            cand --json 'One JSON object: {"ok", "enforced", "scope", "probes": [...]}'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'s3-credentials;policy'= {
            cand --prefix 'Restrict to keys starting with this prefix'
            cand --statement 'JSON statement to add to the policy (repeatable)'
            cand --read-only 'Only allow reading from the bucket'
            cand --write-only 'Only allow writing to the bucket'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'s3-credentials;generate'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand man 'Write every man page (s3-credentials.1, s3-credentials-localserver.1, ..., s3-credentials-fetch.1) into DIR'
            cand completions 'Print a shell''s completion script for one program'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'s3-credentials;generate;man'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'s3-credentials;generate;completions'= {
            cand --for 'The program to complete'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'s3-credentials;generate;help'= {
            cand man 'Write every man page (s3-credentials.1, s3-credentials-localserver.1, ..., s3-credentials-fetch.1) into DIR'
            cand completions 'Print a shell''s completion script for one program'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'s3-credentials;generate;help;man'= {
        }
        &'s3-credentials;generate;help;completions'= {
        }
        &'s3-credentials;generate;help;help'= {
        }
        &'s3-credentials;help'= {
            cand localserver 'Start a localhost server that serves S3 credentials'
            cand exec 'Run a command with credentials for BUCKET... and nothing else'
            cand container-env 'Print what a container needs for one scope of a running localserver'
            cand doctor 'Say what is wrong before you go looking: one line per check'
            cand verify 'Prove the scope is enforced: harmless requests it must refuse'
            cand policy 'Print the session policy that localserver would use'
            cand generate 'Generate the man pages or a shell''s completions, for packagers'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'s3-credentials;help;localserver'= {
        }
        &'s3-credentials;help;exec'= {
        }
        &'s3-credentials;help;container-env'= {
        }
        &'s3-credentials;help;doctor'= {
        }
        &'s3-credentials;help;verify'= {
        }
        &'s3-credentials;help;policy'= {
        }
        &'s3-credentials;help;generate'= {
            cand man 'Write every man page (s3-credentials.1, s3-credentials-localserver.1, ..., s3-credentials-fetch.1) into DIR'
            cand completions 'Print a shell''s completion script for one program'
        }
        &'s3-credentials;help;generate;man'= {
        }
        &'s3-credentials;help;generate;completions'= {
        }
        &'s3-credentials;help;help'= {
        }
    ]
    $completions[$command]
}
