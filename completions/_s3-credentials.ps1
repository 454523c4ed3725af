
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 's3-credentials' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        's3-credentials'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        's3-credentials' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('localserver', 'localserver', [CompletionResultType]::ParameterValue, 'Start a localhost server that serves S3 credentials')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command with credentials for BUCKET... and nothing else')
            [CompletionResult]::new('container-env', 'container-env', [CompletionResultType]::ParameterValue, 'Print what a container needs for one scope of a running localserver')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Say what is wrong before you go looking: one line per check')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Prove the scope is enforced: harmless requests it must refuse')
            [CompletionResult]::new('policy', 'policy', [CompletionResultType]::ParameterValue, 'Print the session policy that localserver would use')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Generate the man pages or a shell''s completions, for packagers')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        's3-credentials;localserver' {
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Restrict to keys starting with this prefix')
            [CompletionResult]::new('--statement', '--statement', [CompletionResultType]::ParameterName, 'JSON statement to add to the policy (repeatable)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Named scopes from a TOML file, served at /scope/NAME (localserver re-reads it on SIGHUP)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'How long each credential is valid for, e.g. 15m, 1h, 12h (900s..12h)')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'How long each credential is valid for, e.g. 15m, 1h, 12h (900s..12h)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'TCP port to serve on (0 picks a free one)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'TCP port to serve on (0 picks a free one)')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Host to bind; localhost binds 127.0.0.1 and ::1')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'Unix socket path [default: $XDG_RUNTIME_DIR/s3-credentials/PORT.sock, or $TMPDIR/s3-credentials-UID/PORT.sock without XDG_RUNTIME_DIR]')
            [CompletionResult]::new('--idle-exit', '--idle-exit', [CompletionResultType]::ParameterName, 'Exit (status 0) after this many seconds without a request; with socket activation, systemd starts it again on the next connection')
            [CompletionResult]::new('--imds-port', '--imds-port', [CompletionResultType]::ParameterName, 'Also serve the default scope as EC2''s IMDSv2 on 127.0.0.1:PORT (0 picks a free one)')
            [CompletionResult]::new('--auth-token-file', '--auth-token-file', [CompletionResultType]::ParameterName, 'Require the header Authorization: TOKEN, with the token in FILE, on every TCP request')
            [CompletionResult]::new('--container-endpoint', '--container-endpoint', [CompletionResultType]::ParameterName, 'Also serve containers on [ADDR:]PORT (ADDR 169.254.170.2 unless given, which must be on an interface); every request there needs a scope''s token_file token (or --auth-token-file''s)')
            [CompletionResult]::new('--gateway', '--gateway', [CompletionResultType]::ParameterName, 'Serve an S3 gateway on [ADDR:]PORT (127.0.0.1 unless given; 0 picks a free port): the buckets on the command line are then served through it, as are config scopes with serve = "gateway". Their clients get local credentials, good only there; the real one stays here')
            [CompletionResult]::new('--allow-uid', '--allow-uid', [CompletionResultType]::ParameterName, 'Also serve this uid (a service account) every scope over TCP, IMDS and the socket; repeatable. By default only your own uid is served')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How to write stderr: text, or one JSON object per line (startup lines too)')
            [CompletionResult]::new('--role-arn', '--role-arn', [CompletionResultType]::ParameterName, 'Role to assume [default: s3-credentials.AmazonS3FullAccess, created if missing]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile to use')
            [CompletionResult]::new('--access-key', '--access-key', [CompletionResultType]::ParameterName, 'AWS access key ID (with --secret-key; prefer --auth FILE: command lines are visible to other users)')
            [CompletionResult]::new('--secret-key', '--secret-key', [CompletionResultType]::ParameterName, 'AWS secret access key')
            [CompletionResult]::new('--session-token', '--session-token', [CompletionResultType]::ParameterName, 'AWS session token, for temporary keys')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Path to JSON/INI file containing credentials (- for standard input)')
            [CompletionResult]::new('--auth', '--auth', [CompletionResultType]::ParameterName, 'Path to JSON/INI file containing credentials (- for standard input)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region, e.g. us-east-1')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Send every AWS call to this endpoint (e.g. a local S3/STS server)')
            [CompletionResult]::new('--read-only', '--read-only', [CompletionResultType]::ParameterName, 'Only allow reading from the bucket')
            [CompletionResult]::new('--write-only', '--write-only', [CompletionResultType]::ParameterName, 'Only allow writing to the bucket')
            [CompletionResult]::new('--no-socket', '--no-socket', [CompletionResultType]::ParameterName, 'Serve over TCP only, with no Unix socket')
            [CompletionResult]::new('--attribute', '--attribute', [CompletionResultType]::ParameterName, 'Give each caller (your user and the program, or an allowed uid''s) of the buckets on the command line its own STS session, named for it in CloudTrail (RoleSessionName, SourceIdentity, session tags); with --gateway, the gateway''s S3 calls for it go out in that session. A --config scope says attribute = "caller" instead')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Do not log each request')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Do not log each request')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        's3-credentials;exec' {
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Restrict to keys starting with this prefix')
            [CompletionResult]::new('--statement', '--statement', [CompletionResultType]::ParameterName, 'JSON statement to add to the policy (repeatable)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Named scopes from a TOML file, served at /scope/NAME (localserver re-reads it on SIGHUP)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'How long each credential is valid for, e.g. 15m, 1h, 12h (900s..12h)')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'How long each credential is valid for, e.g. 15m, 1h, 12h (900s..12h)')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Which scope: of the --config file [default: its default scope], or with --server, of the server''s [default: the one it serves at /]')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'The server''s port, which picks its default Unix socket')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The server''s port, which picks its default Unix socket')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The server''s Unix socket')
            [CompletionResult]::new('--bucket', '--bucket', [CompletionResultType]::ParameterName, 'Narrow the scope (of --config or --server) to this one of its buckets; repeatable')
            [CompletionResult]::new('--role-arn', '--role-arn', [CompletionResultType]::ParameterName, 'Role to assume [default: s3-credentials.AmazonS3FullAccess, created if missing]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile to use')
            [CompletionResult]::new('--access-key', '--access-key', [CompletionResultType]::ParameterName, 'AWS access key ID (with --secret-key; prefer --auth FILE: command lines are visible to other users)')
            [CompletionResult]::new('--secret-key', '--secret-key', [CompletionResultType]::ParameterName, 'AWS secret access key')
            [CompletionResult]::new('--session-token', '--session-token', [CompletionResultType]::ParameterName, 'AWS session token, for temporary keys')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Path to JSON/INI file containing credentials (- for standard input)')
            [CompletionResult]::new('--auth', '--auth', [CompletionResultType]::ParameterName, 'Path to JSON/INI file containing credentials (- for standard input)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region, e.g. us-east-1')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Send every AWS call to this endpoint (e.g. a local S3/STS server)')
            [CompletionResult]::new('--read-only', '--read-only', [CompletionResultType]::ParameterName, 'Only allow reading from the bucket')
            [CompletionResult]::new('--write-only', '--write-only', [CompletionResultType]::ParameterName, 'Only allow writing to the bucket')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Take the credential from a running localserver, over its Unix socket, instead of from AWS: exec then needs no AWS keys')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        's3-credentials;container-env' {
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'The scope the container gets (one with a token_file)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print: docker (for docker run --env-file), compose (an environment: map) or env (export lines for a shell)')
            [CompletionResult]::new('--token-file-at', '--token-file-at', [CompletionResultType]::ParameterName, 'Name a token file at PATH inside the container (bind-mount the scope''s token_file there) instead of printing the token')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'The server''s port, which picks its default Unix socket')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The server''s port, which picks its default Unix socket')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The server''s Unix socket')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        's3-credentials;doctor' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'The server''s port: its default socket, then TCP')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The server''s port: its default socket, then TCP')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Check only this AWS profile''s credential_process')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Check this file''s scopes (and, with AWS access, against AWS)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The --duration localserver is given, for scopes without their own')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'The --duration localserver is given, for scopes without their own')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Where AWS is, for the AWS checks [default: AWS_ENDPOINT_URL, the profile''s, AWS], e.g. the demo''s moto')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object: {"ok", "checks": [{"name", "status", "message"}]}')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        's3-credentials;verify' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'The server''s port, which picks its default Unix socket')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The server''s port, which picks its default Unix socket')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The server''s Unix socket')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'The scope to verify [default: the one the server serves at /]')
            [CompletionResult]::new('--outside-bucket', '--outside-bucket', [CompletionResultType]::ParameterName, 'A bucket outside the scope, which it must not reach')
            [CompletionResult]::new('--outside-key', '--outside-key', [CompletionResultType]::ParameterName, 'An existing key outside the scope''s prefix, which it must not read (a missing one proves nothing on some backends)')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Narrow the credential first, as s3-credentials-fetch does, and verify the narrowed one: to this prefix')
            [CompletionResult]::new('--endpoint-url', '--endpoint-url', [CompletionResultType]::ParameterName, 'Where S3 is [default: AWS_ENDPOINT_URL(_S3), the profile''s, AWS]')
            [CompletionResult]::new('--read-only', '--read-only', [CompletionResultType]::ParameterName, 'Narrow to reading')
            [CompletionResult]::new('--write-only', '--write-only', [CompletionResultType]::ParameterName, 'Narrow to writing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object: {"ok", "enforced", "scope", "probes": [...]}')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        's3-credentials;policy' {
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Restrict to keys starting with this prefix')
            [CompletionResult]::new('--statement', '--statement', [CompletionResultType]::ParameterName, 'JSON statement to add to the policy (repeatable)')
            [CompletionResult]::new('--read-only', '--read-only', [CompletionResultType]::ParameterName, 'Only allow reading from the bucket')
            [CompletionResult]::new('--write-only', '--write-only', [CompletionResultType]::ParameterName, 'Only allow writing to the bucket')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        's3-credentials;generate' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write every man page (s3-credentials.1, s3-credentials-localserver.1, ..., s3-credentials-fetch.1) into DIR')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell''s completion script for one program')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        's3-credentials;generate;man' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        's3-credentials;generate;completions' {
            [CompletionResult]::new('--for', '--for', [CompletionResultType]::ParameterName, 'The program to complete')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        's3-credentials;generate;help' {
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write every man page (s3-credentials.1, s3-credentials-localserver.1, ..., s3-credentials-fetch.1) into DIR')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell''s completion script for one program')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        's3-credentials;generate;help;man' {
            break
        }
        's3-credentials;generate;help;completions' {
            break
        }
        's3-credentials;generate;help;help' {
            break
        }
        's3-credentials;help' {
            [CompletionResult]::new('localserver', 'localserver', [CompletionResultType]::ParameterValue, 'Start a localhost server that serves S3 credentials')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command with credentials for BUCKET... and nothing else')
            [CompletionResult]::new('container-env', 'container-env', [CompletionResultType]::ParameterValue, 'Print what a container needs for one scope of a running localserver')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Say what is wrong before you go looking: one line per check')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Prove the scope is enforced: harmless requests it must refuse')
            [CompletionResult]::new('policy', 'policy', [CompletionResultType]::ParameterValue, 'Print the session policy that localserver would use')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Generate the man pages or a shell''s completions, for packagers')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        's3-credentials;help;localserver' {
            break
        }
        's3-credentials;help;exec' {
            break
        }
        's3-credentials;help;container-env' {
            break
        }
        's3-credentials;help;doctor' {
            break
        }
        's3-credentials;help;verify' {
            break
        }
        's3-credentials;help;policy' {
            break
        }
        's3-credentials;help;generate' {
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write every man page (s3-credentials.1, s3-credentials-localserver.1, ..., s3-credentials-fetch.1) into DIR')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell''s completion script for one program')
            break
        }
        's3-credentials;help;generate;man' {
            break
        }
        's3-credentials;help;generate;completions' {
            break
        }
        's3-credentials;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
