# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_s3_credentials_global_optspecs
    string join \n h/help V/version
end

function __fish_s3_credentials_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_s3_credentials_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_s3_credentials_using_subcommand
    set -l cmd (__fish_s3_credentials_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c s3-credentials -n "__fish_s3_credentials_needs_command" -s h -l help -d 'Print help'
complete -c s3-credentials -n "__fish_s3_credentials_needs_command" -s V -l version -d 'Print version'
complete -c s3-credentials -n "__fish_s3_credentials_needs_command" -f -a "localserver" -d 'Start a localhost server that serves S3 credentials'
complete -c s3-credentials -n "__fish_s3_credentials_needs_command" -f -a "exec" -d 'Run a command with credentials for BUCKET... and nothing else'
complete -c s3-credentials -n "__fish_s3_credentials_needs_command" -f -a "container-env" -d 'Print what a container needs for one scope of a running localserver'
complete -c s3-credentials -n "__fish_s3_credentials_needs_command" -f -a "doctor" -d 'Say what is wrong before you go looking: one line per check'
complete -c s3-credentials -n "__fish_s3_credentials_needs_command" -f -a "verify" -d 'Prove the scope is enforced: harmless requests it must refuse'
complete -c s3-credentials -n "__fish_s3_credentials_needs_command" -f -a "policy" -d 'Print the session policy that localserver would use'
complete -c s3-credentials -n "__fish_s3_credentials_needs_command" -f -a "generate" -d 'Generate the man pages or a shell\'s completions, for packagers'
complete -c s3-credentials -n "__fish_s3_credentials_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l prefix -d 'Restrict to keys starting with this prefix' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l statement -d 'JSON statement to add to the policy (repeatable)' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l config -d 'Named scopes from a TOML file, served at /scope/NAME (localserver re-reads it on SIGHUP)' -r -F
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -s d -l duration -d 'How long each credential is valid for, e.g. 15m, 1h, 12h (900s..12h)' -r -f -a "15m\t''
1h\t''
12h\t''"
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -s p -l port -d 'TCP port to serve on (0 picks a free one)' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l host -d 'Host to bind; localhost binds 127.0.0.1 and ::1' -r -f -a "(__fish_print_hostnames)"
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l socket -d 'Unix socket path [default: $XDG_RUNTIME_DIR/s3-credentials/PORT.sock, or $TMPDIR/s3-credentials-UID/PORT.sock without XDG_RUNTIME_DIR]' -r -F
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l idle-exit -d 'Exit (status 0) after this many seconds without a request; with socket activation, systemd starts it again on the next connection' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l imds-port -d 'Also serve the default scope as EC2\'s IMDSv2 on 127.0.0.1:PORT (0 picks a free one)' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l auth-token-file -d 'Require the header Authorization: TOKEN, with the token in FILE, on every TCP request' -r -F
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l container-endpoint -d 'Also serve containers on [ADDR:]PORT (ADDR 169.254.170.2 unless given, which must be on an interface); every request there needs a scope\'s token_file token (or --auth-token-file\'s)' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l gateway -d 'Serve an S3 gateway on [ADDR:]PORT (127.0.0.1 unless given; 0 picks a free port): the buckets on the command line are then served through it, as are config scopes with serve = "gateway". Their clients get local credentials, good only there; the real one stays here' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l allow-uid -d 'Also serve this uid (a service account) every scope over TCP, IMDS and the socket; repeatable. By default only your own uid is served' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l log-format -d 'How to write stderr: text, or one JSON object per line (startup lines too)' -r -f -a "text\t''
json\t''"
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l role-arn -d 'Role to assume [default: s3-credentials.AmazonS3FullAccess, created if missing]' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l profile -d 'AWS profile to use' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l access-key -d 'AWS access key ID (with --secret-key; prefer --auth FILE: command lines are visible to other users)' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l secret-key -d 'AWS secret access key' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l session-token -d 'AWS session token, for temporary keys' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -s a -l auth -d 'Path to JSON/INI file containing credentials (- for standard input)' -r -F
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l region -d 'AWS region, e.g. us-east-1' -r -f -a "us-east-1\t''
us-east-2\t''
us-west-1\t''
us-west-2\t''
af-south-1\t''
ap-east-1\t''
ap-south-1\t''
ap-south-2\t''
ap-northeast-1\t''
ap-northeast-2\t''
ap-northeast-3\t''
ap-southeast-1\t''
ap-southeast-2\t''
ap-southeast-3\t''
ap-southeast-4\t''
ca-central-1\t''
ca-west-1\t''
eu-central-1\t''
eu-central-2\t''
eu-north-1\t''
eu-south-1\t''
eu-south-2\t''
eu-west-1\t''
eu-west-2\t''
eu-west-3\t''
il-central-1\t''
me-central-1\t''
me-south-1\t''
mx-central-1\t''
sa-east-1\t''"
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l endpoint-url -d 'Send every AWS call to this endpoint (e.g. a local S3/STS server)' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l read-only -d 'Only allow reading from the bucket'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l write-only -d 'Only allow writing to the bucket'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l no-socket -d 'Serve over TCP only, with no Unix socket'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -l attribute -d 'Give each caller (your user and the program, or an allowed uid\'s) of the buckets on the command line its own STS session, named for it in CloudTrail (RoleSessionName, SourceIdentity, session tags); with --gateway, the gateway\'s S3 calls for it go out in that session. A --config scope says attribute = "caller" instead'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -s q -l quiet -d 'Do not log each request'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand localserver" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l prefix -d 'Restrict to keys starting with this prefix' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l statement -d 'JSON statement to add to the policy (repeatable)' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l config -d 'Named scopes from a TOML file, served at /scope/NAME (localserver re-reads it on SIGHUP)' -r -F
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -s d -l duration -d 'How long each credential is valid for, e.g. 15m, 1h, 12h (900s..12h)' -r -f -a "15m\t''
1h\t''
12h\t''"
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l scope -d 'Which scope: of the --config file [default: its default scope], or with --server, of the server\'s [default: the one it serves at /]' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -s p -l port -d 'The server\'s port, which picks its default Unix socket' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l socket -d 'The server\'s Unix socket' -r -F
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l bucket -d 'Narrow the scope (of --config or --server) to this one of its buckets; repeatable' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l role-arn -d 'Role to assume [default: s3-credentials.AmazonS3FullAccess, created if missing]' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l profile -d 'AWS profile to use' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l access-key -d 'AWS access key ID (with --secret-key; prefer --auth FILE: command lines are visible to other users)' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l secret-key -d 'AWS secret access key' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l session-token -d 'AWS session token, for temporary keys' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -s a -l auth -d 'Path to JSON/INI file containing credentials (- for standard input)' -r -F
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l region -d 'AWS region, e.g. us-east-1' -r -f -a "us-east-1\t''
us-east-2\t''
us-west-1\t''
us-west-2\t''
af-south-1\t''
ap-east-1\t''
ap-south-1\t''
ap-south-2\t''
ap-northeast-1\t''
ap-northeast-2\t''
ap-northeast-3\t''
ap-southeast-1\t''
ap-southeast-2\t''
ap-southeast-3\t''
ap-southeast-4\t''
ca-central-1\t''
ca-west-1\t''
eu-central-1\t''
eu-central-2\t''
eu-north-1\t''
eu-south-1\t''
eu-south-2\t''
eu-west-1\t''
eu-west-2\t''
eu-west-3\t''
il-central-1\t''
me-central-1\t''
me-south-1\t''
mx-central-1\t''
sa-east-1\t''"
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l endpoint-url -d 'Send every AWS call to this endpoint (e.g. a local S3/STS server)' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l read-only -d 'Only allow reading from the bucket'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l write-only -d 'Only allow writing to the bucket'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -l server -d 'Take the credential from a running localserver, over its Unix socket, instead of from AWS: exec then needs no AWS keys'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand container-env" -l scope -d 'The scope the container gets (one with a token_file)' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand container-env" -l format -d 'How to print: docker (for docker run --env-file), compose (an environment: map) or env (export lines for a shell)' -r -f -a "docker\t''
compose\t''
env\t''"
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand container-env" -l token-file-at -d 'Name a token file at PATH inside the container (bind-mount the scope\'s token_file there) instead of printing the token' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand container-env" -s p -l port -d 'The server\'s port, which picks its default Unix socket' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand container-env" -l socket -d 'The server\'s Unix socket' -r -F
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand container-env" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand doctor" -s p -l port -d 'The server\'s port: its default socket, then TCP' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand doctor" -l profile -d 'Check only this AWS profile\'s credential_process' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand doctor" -l config -d 'Check this file\'s scopes (and, with AWS access, against AWS)' -r -F
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand doctor" -s d -l duration -d 'The --duration localserver is given, for scopes without their own' -r -f -a "15m\t''
1h\t''
12h\t''"
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand doctor" -l endpoint-url -d 'Where AWS is, for the AWS checks [default: AWS_ENDPOINT_URL, the profile\'s, AWS], e.g. the demo\'s moto' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand doctor" -l json -d 'One JSON object: {"ok", "checks": [{"name", "status", "message"}]}'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand verify" -s p -l port -d 'The server\'s port, which picks its default Unix socket' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand verify" -l socket -d 'The server\'s Unix socket' -r -F
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand verify" -l scope -d 'The scope to verify [default: the one the server serves at /]' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand verify" -l outside-bucket -d 'A bucket outside the scope, which it must not reach' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand verify" -l outside-key -d 'An existing key outside the scope\'s prefix, which it must not read (a missing one proves nothing on some backends)' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand verify" -l prefix -d 'Narrow the credential first, as s3-credentials-fetch does, and verify the narrowed one: to this prefix' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand verify" -l endpoint-url -d 'Where S3 is [default: AWS_ENDPOINT_URL(_S3), the profile\'s, AWS]' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand verify" -l read-only -d 'Narrow to reading'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand verify" -l write-only -d 'Narrow to writing'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand verify" -l json -d 'One JSON object: {"ok", "enforced", "scope", "probes": [...]}'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand policy" -l prefix -d 'Restrict to keys starting with this prefix' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand policy" -l statement -d 'JSON statement to add to the policy (repeatable)' -r -f
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand policy" -l read-only -d 'Only allow reading from the bucket'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand policy" -l write-only -d 'Only allow writing to the bucket'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand policy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand generate; and not __fish_seen_subcommand_from man completions help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand generate; and not __fish_seen_subcommand_from man completions help" -f -a "man" -d 'Write every man page (s3-credentials.1, s3-credentials-localserver.1, ..., s3-credentials-fetch.1) into DIR'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand generate; and not __fish_seen_subcommand_from man completions help" -f -a "completions" -d 'Print a shell\'s completion script for one program'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand generate; and not __fish_seen_subcommand_from man completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand generate; and __fish_seen_subcommand_from man" -s h -l help -d 'Print help'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand generate; and __fish_seen_subcommand_from completions" -l for -d 'The program to complete' -r -f -a "s3-credentials\t'`s3-credentials`'
s3-credentials-fetch\t'`s3-credentials-fetch`'"
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand generate; and __fish_seen_subcommand_from completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "man" -d 'Write every man page (s3-credentials.1, s3-credentials-localserver.1, ..., s3-credentials-fetch.1) into DIR'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "completions" -d 'Print a shell\'s completion script for one program'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand help; and test (count (commandline -opc)) -eq 2" -f -a "localserver" -d 'Start a localhost server that serves S3 credentials'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand help; and test (count (commandline -opc)) -eq 2" -f -a "exec" -d 'Run a command with credentials for BUCKET... and nothing else'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand help; and test (count (commandline -opc)) -eq 2" -f -a "container-env" -d 'Print what a container needs for one scope of a running localserver'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand help; and test (count (commandline -opc)) -eq 2" -f -a "doctor" -d 'Say what is wrong before you go looking: one line per check'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand help; and test (count (commandline -opc)) -eq 2" -f -a "verify" -d 'Prove the scope is enforced: harmless requests it must refuse'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand help; and test (count (commandline -opc)) -eq 2" -f -a "policy" -d 'Print the session policy that localserver would use'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand help; and test (count (commandline -opc)) -eq 2" -f -a "generate" -d 'Generate the man pages or a shell\'s completions, for packagers'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand help; and test (count (commandline -opc)) -eq 2" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "man" -d 'Write every man page (s3-credentials.1, s3-credentials-localserver.1, ..., s3-credentials-fetch.1) into DIR'
complete -c s3-credentials -n "__fish_s3_credentials_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "completions" -d 'Print a shell\'s completion script for one program'
