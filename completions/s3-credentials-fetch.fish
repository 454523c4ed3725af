complete -c s3-credentials-fetch -s p -l port -d 'The server\'s port, which picks its default Unix socket' -r -f
complete -c s3-credentials-fetch -l socket -d 'The server\'s Unix socket' -r -F
complete -c s3-credentials-fetch -l url -d 'URL to ask over TCP, e.g. http://127.0.0.1:8094/' -r -f
complete -c s3-credentials-fetch -l server-uid -d 'The uid the server must run as [default: your own]; a server run by anyone else is refused' -r -f
complete -c s3-credentials-fetch -l timeout -d 'Seconds to wait for an answer' -r -f
complete -c s3-credentials-fetch -l format -d 'How to print the credential, as aws configure export-credentials does: process (the credential_process JSON), env, env-no-export, fish or powershell' -r -f -a "process\t''
env\t''
env-no-export\t''
fish\t''
powershell\t''"
complete -c s3-credentials-fetch -l scope -d 'Ask for the named scope (/scope/NAME) instead of the default one' -r -f
complete -c s3-credentials-fetch -l bucket -d 'Narrow the credential to this one of the scope\'s buckets; repeatable' -r -f
complete -c s3-credentials-fetch -l prefix -d 'Narrow the credential to this prefix, which must extend the scope\'s' -r -f
complete -c s3-credentials-fetch -l read-only -d 'Narrow the credential to reading (of a read-write or read-only scope)'
complete -c s3-credentials-fetch -l write-only -d 'Narrow the credential to writing (of a read-write or write-only scope)'
complete -c s3-credentials-fetch -s h -l help -d 'Print help (see more with \'--help\')'
complete -c s3-credentials-fetch -s V -l version -d 'Print version'
