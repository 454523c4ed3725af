
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 's3-credentials-fetch' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        's3-credentials-fetch'
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
        's3-credentials-fetch' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'The server''s port, which picks its default Unix socket')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The server''s port, which picks its default Unix socket')
            [CompletionResult]::new('--socket', '--socket', [CompletionResultType]::ParameterName, 'The server''s Unix socket')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'URL to ask over TCP, e.g. http://127.0.0.1:8094/')
            [CompletionResult]::new('--server-uid', '--server-uid', [CompletionResultType]::ParameterName, 'The uid the server must run as [default: your own]; a server run by anyone else is refused')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for an answer')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print the credential, as aws configure export-credentials does: process (the credential_process JSON), env, env-no-export, fish or powershell')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Ask for the named scope (/scope/NAME) instead of the default one')
            [CompletionResult]::new('--bucket', '--bucket', [CompletionResultType]::ParameterName, 'Narrow the credential to this one of the scope''s buckets; repeatable')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Narrow the credential to this prefix, which must extend the scope''s')
            [CompletionResult]::new('--read-only', '--read-only', [CompletionResultType]::ParameterName, 'Narrow the credential to reading (of a read-write or read-only scope)')
            [CompletionResult]::new('--write-only', '--write-only', [CompletionResultType]::ParameterName, 'Narrow the credential to writing (of a read-write or write-only scope)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
