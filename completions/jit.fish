# fish completion for jit. Generated from jit's command tree by `jit completion fish`; do not edit.
# Install: jit completion fish > ~/.config/fish/completions/jit.fish

function __jit_subcommand --description 'The name of the subcommand WORD of PATH, if it is one'
    switch "$argv[1] $argv[2]"
        case 'jit login'
            echo login
        case 'jit logout'
            echo logout
        case 'jit whoami'
            echo whoami
        case 'jit run'
            echo run
        case 'jit proxy'
            echo proxy
        case 'jit watch'
            echo watch
        case 'jit approve'
            echo approve
        case 'jit grants'
            echo grants
        case 'jit demo'
            echo demo
        case 'jit policy'
            echo policy
        case 'jit audit'
            echo audit
        case 'jit completion'
            echo completion
        case 'jit doctor'
            echo doctor
        case 'jit broker'
            echo broker
        case 'jit help'
            echo help
        case 'jit grants list'
            echo list
        case 'jit grants revoke'
            echo revoke
        case 'jit grants gc'
            echo gc
        case 'jit grants help'
            echo help
        case 'jit policy check'
            echo check
        case 'jit policy test'
            echo test
        case 'jit policy help'
            echo help
        case 'jit audit verify'
            echo verify
        case 'jit audit show'
            echo show
        case 'jit audit tail'
            echo tail
        case 'jit audit export'
            echo export
        case 'jit audit push'
            echo push
        case 'jit audit help'
            echo help
    end
end

function __jit_value_hint --description 'What the option FLAG of PATH takes as its value, if anything'
    switch "$argv[1] $argv[2]"
        case 'jit login -c' 'jit login --config'
            echo config
        case 'jit login --issuer'
            echo none
        case 'jit login --client-id'
            echo none
        case 'jit login --ca'
            echo file
        case 'jit logout -c' 'jit logout --config'
            echo config
        case 'jit logout --issuer'
            echo none
        case 'jit logout --client-id'
            echo none
        case 'jit logout --ca'
            echo file
        case 'jit whoami -c' 'jit whoami --config'
            echo config
        case 'jit whoami --issuer'
            echo none
        case 'jit whoami --client-id'
            echo none
        case 'jit whoami --ca'
            echo file
        case 'jit whoami --client-secret-env'
            echo none
        case 'jit run -c' 'jit run --config'
            echo config
        case 'jit run -t' 'jit run --target'
            echo target
        case 'jit run --reason'
            echo none
        case 'jit run --policy'
            echo file
        case 'jit run --audit-log'
            echo file
        case 'jit run --client-id'
            echo none
        case 'jit run --client-secret-env'
            echo none
        case 'jit run --ttl'
            echo none
        case 'jit run --events'
            echo file
        case 'jit proxy -c' 'jit proxy --config'
            echo config
        case 'jit proxy -t' 'jit proxy --target'
            echo target
        case 'jit proxy --reason'
            echo none
        case 'jit proxy --policy'
            echo file
        case 'jit proxy --audit-log'
            echo file
        case 'jit proxy --client-id'
            echo none
        case 'jit proxy --client-secret-env'
            echo none
        case 'jit proxy -p' 'jit proxy --port'
            echo none
        case 'jit proxy --ttl'
            echo none
        case 'jit proxy --events'
            echo file
        case 'jit watch -s' 'jit watch --session'
            echo none
        case 'jit approve -c' 'jit approve --config'
            echo config
        case 'jit approve --reason'
            echo none
        case 'jit approve -s' 'jit approve --session'
            echo none
        case 'jit grants list -c' 'jit grants list --config'
            echo config
        case 'jit grants list -t' 'jit grants list --target'
            echo target
        case 'jit grants revoke -c' 'jit grants revoke --config'
            echo config
        case 'jit grants revoke -t' 'jit grants revoke --target'
            echo target
        case 'jit grants revoke --reason'
            echo none
        case 'jit grants gc -c' 'jit grants gc --config'
            echo config
        case 'jit grants gc -t' 'jit grants gc --target'
            echo target
        case 'jit policy test --sql'
            echo none
        case 'jit policy test --script'
            echo file
        case 'jit audit verify --audit-dir'
            echo directory
        case 'jit audit show --audit-dir'
            echo directory
        case 'jit audit show --session'
            echo none
        case 'jit audit show --decision'
            echo none
        case 'jit audit show --kind'
            echo none
        case 'jit audit show --since'
            echo none
        case 'jit audit show --sub'
            echo none
        case 'jit audit show --email'
            echo none
        case 'jit audit show --target'
            echo target
        case 'jit audit show --until'
            echo none
        case 'jit audit show --limit'
            echo none
        case 'jit audit show -c' 'jit audit show --config'
            echo config
        case 'jit audit show --client-id'
            echo none
        case 'jit audit show --client-secret-env'
            echo none
        case 'jit audit tail --audit-dir'
            echo directory
        case 'jit audit tail -n' 'jit audit tail --lines'
            echo none
        case 'jit audit export --audit-dir'
            echo directory
        case 'jit audit export --format'
            echo none
        case 'jit audit export -o' 'jit audit export --output'
            echo file
        case 'jit audit push --audit-dir'
            echo directory
        case 'jit audit push -c' 'jit audit push --config'
            echo config
        case 'jit audit push --client-id'
            echo none
        case 'jit audit push --client-secret-env'
            echo none
        case 'jit doctor -c' 'jit doctor --config'
            echo config
        case 'jit doctor -t' 'jit doctor --target'
            echo target
        case 'jit broker -c' 'jit broker --config'
            echo config
    end
end

function __jit_command_arg --description 'Whether positional argument N of PATH is a command to run'
    switch "$argv[1] $argv[2]"
        case 'jit run 0'
            return 0
        case 'jit demo 0'
            return 0
        case '*'
            return 1
    end
end

function __jit_state --description 'Where the jit command line is'
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l path jit
    set -l npos 0
    set -l start 0
    set -l expect -
    set -l config -
    set -l dashdash 0
    set -l i 1
    for word in $tokens
        set i (math $i + 1)
        if test $start -gt 0
            continue
        else if test "$expect" != -
            test "$expect" = config; and set config $word
            set expect -
        else if test $dashdash = 0; and test "$word" = --
            set dashdash 1
        else if test $dashdash = 0; and string match -q -- '--*=*' $word
            set -l parts (string split -m 1 -- = $word)
            set -l hint (__jit_value_hint "$path" $parts[1])
            test "$hint" = config; and set config $parts[2]
        else if test $dashdash = 0; and string match -q -- '-?*' $word
            set -l hint (__jit_value_hint "$path" $word)
            test -n "$hint"; and set expect $hint
        else
            set -l sub
            if test $dashdash = 0; and test $npos = 0
                set sub (__jit_subcommand "$path" $word)
            end
            if test -n "$sub"
                set path "$path $sub"
            else
                __jit_command_arg "$path" $npos; and set start $i
                set npos (math $npos + 1)
            end
        end
    end
    printf '%s\n' "$path" $npos $start "$expect" "$config" $dashdash
end

function __jit_at --description 'On command PATH, before -- and the command jit runs'
    set -l state (__jit_state)
    test "$state[1]" = "$argv[1]"; and test "$state[3]" = 0; and test "$state[6]" = 0
end

function __jit_commands --description 'Where a subcommand of PATH goes'
    set -l state (__jit_state)
    test "$state[1]" = "$argv[1]"; and test "$state[2]" = 0; and test "$state[4]" = -; and test "$state[6]" = 0
end

function __jit_arg --description 'Where positional argument N of PATH goes (N or later with +)'
    set -l state (__jit_state)
    test "$state[1]" = "$argv[1]"; and test "$state[3]" = 0; and test "$state[4]" = -; or return 1
    if test "$argv[3]" = +
        test $state[2] -ge $argv[2]
    else
        test $state[2] -eq $argv[2]
    end
end

function __jit_running --description 'Within the arguments of the command that jit runs for PATH'
    set -l state (__jit_state)
    test "$state[1]" = "$argv[1]"; and test "$state[3]" -gt 0
end

function __jit_complete_running --description 'Completes the command jit runs as if typed on its own'
    set -l state (__jit_state)
    set -l tokens (commandline -opc)
    complete -C (string join -- ' ' (string escape -- $tokens[$state[3]..-1]) (commandline -ct))
end

function __jit_targets --description 'The target names of the jit config in use'
    set -l state (__jit_state)
    set -l file $state[5]
    test "$file" = -; and set file $JIT_CONFIG
    if test -z "$file"
        for name in jit.yaml jit.yml
            if test -f $name
                set file $name
                break
            end
        end
    end
    set file (string replace -r -- '^~/' "$HOME/" $file)
    test -n "$file"; and test -r "$file"; or return 0
    awk '/^targets:[ \t]*(#.*)?$/ { t = 1; n = -1; next }
t && /^[^ \t#]/ { t = 0 }
t && /^[ \t]+[A-Za-z0-9_.-]+[ \t]*:/ {
  match($0, /^[ \t]+/); i = RLENGTH
  if (n < 0) n = i
  if (i == n) { k = substr($0, i + 1); sub(/[ \t]*:.*/, "", k); print k }
}' $file 2>/dev/null
end

complete -c jit -f
complete -c jit -n "__jit_commands 'jit'" -a login -d 'log in with your identity provider (OIDC device flow) and keep the tokens safe'
complete -c jit -n "__jit_commands 'jit'" -a logout -d 'revoke your tokens at the identity provider and delete them here'
complete -c jit -n "__jit_commands 'jit'" -a whoami -d 'show the verified identity jit run would use (subject, email, groups, issuer, expiry)'
complete -c jit -n "__jit_commands 'jit'" -a run -d 'issue a time-boxed grant, start the proxy and run CMD with connection settings for it'
complete -c jit -n "__jit_commands 'jit'" -a proxy -d 'issue a time-boxed grant and run the proxy in the foreground until Ctrl-C or expiry'
complete -c jit -n "__jit_commands 'jit'" -a watch -d 'attach to a running jit session on this machine: live statements and approvals'
complete -c jit -n "__jit_commands 'jit'" -a approve -d 'decide grant requests and held statements in the team broker\'s queue (else: jit watch)'
complete -c jit -n "__jit_commands 'jit'" -a grants -d 'list, revoke and clean up temporary roles made by jit'
complete -c jit -n "__jit_commands 'jit'" -a demo -d 'start an embedded PostgreSQL with sample data and run an agent through a jit session'
complete -c jit -n "__jit_commands 'jit'" -a policy -d 'validate a SQL policy file, or show what it decides for a statement'
complete -c jit -n "__jit_commands 'jit'" -a audit -d 'read and verify the hash-chained audit log (one JSONL file per session)'
complete -c jit -n "__jit_commands 'jit'" -a completion -d 'print the shell completion script for bash, zsh or fish'
complete -c jit -n "__jit_commands 'jit'" -a doctor -d 'check config, keyring, identity provider, clock and each target; say how to fix what is wrong'
complete -c jit -n "__jit_commands 'jit'" -a broker -d 'run the team broker: grants, approvals and audit over HTTP, admin credentials kept here'
complete -c jit -n "__jit_commands 'jit'" -a help -d 'display help for command'
complete -c jit -n "__jit_at 'jit'" -s v -l version -d 'output the version number'
complete -c jit -n "__jit_at 'jit'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_at 'jit login'" -s c -l config -r -F -d 'config file (default: $JIT_CONFIG or ./jit.yaml)'
complete -c jit -n "__jit_at 'jit login'" -l issuer -r -d 'OpenID provider (default: oidc.issuer from the config)'
complete -c jit -n "__jit_at 'jit login'" -l client-id -r -d 'client id registered at the provider (default: oidc.client_id)'
complete -c jit -n "__jit_at 'jit login'" -l ca -r -F -d 'extra CA certificate (PEM) to trust for the provider (default: oidc.ca)'
complete -c jit -n "__jit_at 'jit login'" -l no-browser -d 'do not open a browser; just print the URL and the code'
complete -c jit -n "__jit_at 'jit login'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_at 'jit logout'" -s c -l config -r -F -d 'config file (default: $JIT_CONFIG or ./jit.yaml)'
complete -c jit -n "__jit_at 'jit logout'" -l issuer -r -d 'OpenID provider (default: oidc.issuer from the config)'
complete -c jit -n "__jit_at 'jit logout'" -l client-id -r -d 'client id registered at the provider (default: oidc.client_id)'
complete -c jit -n "__jit_at 'jit logout'" -l ca -r -F -d 'extra CA certificate (PEM) to trust for the provider (default: oidc.ca)'
complete -c jit -n "__jit_at 'jit logout'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_at 'jit whoami'" -s c -l config -r -F -d 'config file (default: $JIT_CONFIG or ./jit.yaml)'
complete -c jit -n "__jit_at 'jit whoami'" -l issuer -r -d 'OpenID provider (default: oidc.issuer from the config)'
complete -c jit -n "__jit_at 'jit whoami'" -l client-id -r -d 'client id registered at the provider (default: oidc.client_id)'
complete -c jit -n "__jit_at 'jit whoami'" -l ca -r -F -d 'extra CA certificate (PEM) to trust for the provider (default: oidc.ca)'
complete -c jit -n "__jit_at 'jit whoami'" -l json -d 'print it as JSON'
complete -c jit -n "__jit_at 'jit whoami'" -l ci -d 'only CI identities (JIT_ID_TOKEN, GitHub Actions OIDC, --client-secret-env)'
complete -c jit -n "__jit_at 'jit whoami'" -l client-secret-env -r -d 'environment variable with a service account client secret'
complete -c jit -n "__jit_at 'jit whoami'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_at 'jit run'" -s c -l config -r -F -d 'config file (default: $JIT_CONFIG or ./jit.yaml)'
complete -c jit -n "__jit_at 'jit run'" -s t -l target -r -a '(__jit_targets)' -d 'target from the config (default: default_target or the only one)'
complete -c jit -n "__jit_at 'jit run'" -l reason -r -d 'why you need access (broker targets: shown to approvers, kept in the record)'
complete -c jit -n "__jit_at 'jit run'" -l policy -r -F -d 'policy YAML (default: the target\'s policy, else the built-in default)'
complete -c jit -n "__jit_at 'jit run'" -l audit-log -r -F -d 'append the audit trail to this file (default: one file per session in the state dir)'
complete -c jit -n "__jit_at 'jit run'" -l ci -d 'CI job: never prompt; identity from JIT_ID_TOKEN, GitHub Actions OIDC or --client-secret-env'
complete -c jit -n "__jit_at 'jit run'" -l client-id -r -d 'service account client id for --client-secret-env (default: oidc.client_id)'
complete -c jit -n "__jit_at 'jit run'" -l client-secret-env -r -d 'environment variable holding a service account\'s client secret (client-credentials grant)'
complete -c jit -n "__jit_at 'jit run'" -l ttl -r -d 'grant lifetime, e.g. 15m or 1h (default: the target\'s ttl; capped by max_ttl)'
complete -c jit -n "__jit_at 'jit run'" -s q -l quiet -d 'print nothing of jit\'s own: no status, no JSON events (errors still go to stderr)'
complete -c jit -n "__jit_at 'jit run'" -l tui -d 'show the live view on this terminal; the command\'s output goes to a file'
complete -c jit -n "__jit_at 'jit run'" -l events -r -F -d 'append every event as a JSON line to FILE (CI mode: stderr by default)'
complete -c jit -n "__jit_at 'jit run'" -l fail-on-block -d 'exit 1 when the command succeeded but a statement was blocked or denied'
complete -c jit -n "__jit_at 'jit run'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_arg 'jit run' 0" -a '(__fish_complete_command)'
complete -c jit -n "__jit_running 'jit run'" -a '(__jit_complete_running)'
complete -c jit -n "__jit_at 'jit proxy'" -s c -l config -r -F -d 'config file (default: $JIT_CONFIG or ./jit.yaml)'
complete -c jit -n "__jit_at 'jit proxy'" -s t -l target -r -a '(__jit_targets)' -d 'target from the config (default: default_target or the only one)'
complete -c jit -n "__jit_at 'jit proxy'" -l reason -r -d 'why you need access (broker targets: shown to approvers, kept in the record)'
complete -c jit -n "__jit_at 'jit proxy'" -l policy -r -F -d 'policy YAML (default: the target\'s policy, else the built-in default)'
complete -c jit -n "__jit_at 'jit proxy'" -l audit-log -r -F -d 'append the audit trail to this file (default: one file per session in the state dir)'
complete -c jit -n "__jit_at 'jit proxy'" -l ci -d 'CI job: never prompt; identity from JIT_ID_TOKEN, GitHub Actions OIDC or --client-secret-env'
complete -c jit -n "__jit_at 'jit proxy'" -l client-id -r -d 'service account client id for --client-secret-env (default: oidc.client_id)'
complete -c jit -n "__jit_at 'jit proxy'" -l client-secret-env -r -d 'environment variable holding a service account\'s client secret (client-credentials grant)'
complete -c jit -n "__jit_at 'jit proxy'" -s p -l port -r -d 'port on 127.0.0.1 (default: a free one)'
complete -c jit -n "__jit_at 'jit proxy'" -l ttl -r -d 'grant lifetime, e.g. 15m or 1h (default: the target\'s ttl; capped by max_ttl)'
complete -c jit -n "__jit_at 'jit proxy'" -s q -l quiet -d 'print only the connection URL (no status lines, no JSON events on stderr)'
complete -c jit -n "__jit_at 'jit proxy'" -l no-tui -d 'no live view in a terminal: status lines only (approvals then need `jit watch`)'
complete -c jit -n "__jit_at 'jit proxy'" -l events -r -F -d 'append every event as a JSON line to FILE (CI mode: stderr by default)'
complete -c jit -n "__jit_at 'jit proxy'" -l fail-on-block -d 'exit 1 when any statement was blocked or denied'
complete -c jit -n "__jit_at 'jit proxy'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_at 'jit watch'" -s s -l session -r -d 'the session to attach to (default: the only one running)'
complete -c jit -n "__jit_at 'jit watch'" -l json -d 'print events as JSON lines instead of the live view (read-only)'
complete -c jit -n "__jit_at 'jit watch'" -l no-color -d 'no colours (also when NO_COLOR is set)'
complete -c jit -n "__jit_at 'jit watch'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_at 'jit approve'" -s c -l config -r -F -d 'config file (default: $JIT_CONFIG or ./jit.yaml)'
complete -c jit -n "__jit_at 'jit approve'" -l broker -d 'use the broker\'s queue (the default when the config has a `broker:` section)'
complete -c jit -n "__jit_at 'jit approve'" -l list -d 'print the pending requests you may decide, once, and exit'
complete -c jit -n "__jit_at 'jit approve'" -l json -d 'with --list: JSON lines; with ID: the decided item as JSON'
complete -c jit -n "__jit_at 'jit approve'" -l approve -d 'approve ID'
complete -c jit -n "__jit_at 'jit approve'" -l deny -d 'deny ID'
complete -c jit -n "__jit_at 'jit approve'" -l fingerprint -d 'with --approve on a held statement: also approve its shape for the rest of that session'
complete -c jit -n "__jit_at 'jit approve'" -l reason -r -d 'why you decided so (recorded; shown to the requester)'
complete -c jit -n "__jit_at 'jit approve'" -s s -l session -r -d 'no broker: the local session to attach to (as jit watch)'
complete -c jit -n "__jit_at 'jit approve'" -l no-color -d 'no broker: no colours in the live view (as jit watch)'
complete -c jit -n "__jit_at 'jit approve'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_commands 'jit grants'" -a list -d 'list jit-made roles on the target with their expiry and live connections; for a broker target, your open grants'
complete -c jit -n "__jit_commands 'jit grants'" -a revoke -d 'end a grant now: stop logins, terminate its connections, drop the role'
complete -c jit -n "__jit_commands 'jit grants'" -a gc -d 'drop expired jit roles (left behind when jit was killed)'
complete -c jit -n "__jit_commands 'jit grants'" -a help -d 'display help for command'
complete -c jit -n "__jit_at 'jit grants'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_at 'jit grants list'" -s c -l config -r -F -d 'config file (default: $JIT_CONFIG or ./jit.yaml)'
complete -c jit -n "__jit_at 'jit grants list'" -s t -l target -r -a '(__jit_targets)' -d 'target from the config (default: default_target or the only one)'
complete -c jit -n "__jit_at 'jit grants list'" -l json -d 'print JSON'
complete -c jit -n "__jit_at 'jit grants list'" -l all -d 'broker targets: everyone\'s open grants (the broker\'s admins only)'
complete -c jit -n "__jit_at 'jit grants list'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_at 'jit grants revoke'" -s c -l config -r -F -d 'config file (default: $JIT_CONFIG or ./jit.yaml)'
complete -c jit -n "__jit_at 'jit grants revoke'" -s t -l target -r -a '(__jit_targets)' -d 'target from the config (default: default_target or the only one)'
complete -c jit -n "__jit_at 'jit grants revoke'" -l json -d 'print JSON'
complete -c jit -n "__jit_at 'jit grants revoke'" -l reason -r -d 'broker targets: why (the running session is told)'
complete -c jit -n "__jit_at 'jit grants revoke'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_at 'jit grants gc'" -s c -l config -r -F -d 'config file (default: $JIT_CONFIG or ./jit.yaml)'
complete -c jit -n "__jit_at 'jit grants gc'" -s t -l target -r -a '(__jit_targets)' -d 'target from the config (default: default_target or the only one)'
complete -c jit -n "__jit_at 'jit grants gc'" -l json -d 'print JSON'
complete -c jit -n "__jit_at 'jit grants gc'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_arg 'jit grants help' 0" -a 'list revoke gc'
complete -c jit -n "__jit_at 'jit demo'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_arg 'jit demo' 0" -a '(__fish_complete_command)'
complete -c jit -n "__jit_running 'jit demo'" -a '(__jit_complete_running)'
complete -c jit -n "__jit_commands 'jit policy'" -a check -d 'validate a policy file; prints "ok: N rules, mode M" or one error line'
complete -c jit -n "__jit_commands 'jit policy'" -a test -d 'show the decision, the deciding rule and the classified statements for SQL (--sql or --script)'
complete -c jit -n "__jit_commands 'jit policy'" -a help -d 'display help for command'
complete -c jit -n "__jit_at 'jit policy'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_at 'jit policy check'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_arg 'jit policy check' 0" -F
complete -c jit -n "__jit_at 'jit policy test'" -l sql -r -d 'the SQL to classify (several statements allowed)'
complete -c jit -n "__jit_at 'jit policy test'" -l script -r -F -d 'decide every statement of a SQL script instead (psql meta-commands are skipped)'
complete -c jit -n "__jit_at 'jit policy test'" -l json -d 'print JSON'
complete -c jit -n "__jit_at 'jit policy test'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_arg 'jit policy test' 0" -F
complete -c jit -n "__jit_arg 'jit policy help' 0" -a 'check test'
complete -c jit -n "__jit_commands 'jit audit'" -a verify -d 'check the hash chain of each file; exits 1 naming the first bad line'
complete -c jit -n "__jit_commands 'jit audit'" -a show -d 'print records as a table (or JSON lines), filtered; --broker: the team broker\'s records'
complete -c jit -n "__jit_commands 'jit audit'" -a tail -d 'print the last records across the newest files; -f keeps following new ones'
complete -c jit -n "__jit_commands 'jit audit'" -a export -d 'write every record as JSON lines or CSV (RFC 4180, with a header row)'
complete -c jit -n "__jit_commands 'jit audit'" -a push -d 'send audit files to the team broker that it may be missing (after an outage)'
complete -c jit -n "__jit_commands 'jit audit'" -a help -d 'display help for command'
complete -c jit -n "__jit_at 'jit audit'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_at 'jit audit verify'" -l audit-dir -r -F -d 'the audit directory (default: $JIT_AUDIT_DIR or the platform default)'
complete -c jit -n "__jit_at 'jit audit verify'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_arg 'jit audit verify' 0" -F
complete -c jit -n "__jit_at 'jit audit show'" -l audit-dir -r -F -d 'the audit directory (default: $JIT_AUDIT_DIR or the platform default)'
complete -c jit -n "__jit_at 'jit audit show'" -l session -r -d 'only this session (an id or its first characters)'
complete -c jit -n "__jit_at 'jit audit show'" -l decision -r -d 'only these decisions: allowed,blocked,approved,denied,error'
complete -c jit -n "__jit_at 'jit audit show'" -l kind -r -d 'only these kinds: statement,session_start,grant_issued,approval,session_end,grant_revoked'
complete -c jit -n "__jit_at 'jit audit show'" -l since -r -d 'only records since a duration ago (1h, 30m) or an ISO time'
complete -c jit -n "__jit_at 'jit audit show'" -l json -d 'print the matching records as JSON lines, exactly as stored'
complete -c jit -n "__jit_at 'jit audit show'" -l broker -d 'query the team broker\'s records instead of local files (the options below need it)'
complete -c jit -n "__jit_at 'jit audit show'" -l sub -r -d 'with --broker: only records of this identity subject'
complete -c jit -n "__jit_at 'jit audit show'" -l email -r -d 'with --broker: only records of this email'
complete -c jit -n "__jit_at 'jit audit show'" -l target -r -a '(__jit_targets)' -d 'with --broker: only records of this target'
complete -c jit -n "__jit_at 'jit audit show'" -l until -r -d 'with --broker: only records before a duration ago (1h) or an ISO time'
complete -c jit -n "__jit_at 'jit audit show'" -l limit -r -d 'with --broker: at most N records, the newest (default 1000)'
complete -c jit -n "__jit_at 'jit audit show'" -s c -l config -r -F -d 'config file naming the broker (default: $JIT_CONFIG or ./jit.yaml)'
complete -c jit -n "__jit_at 'jit audit show'" -l ci -d 'CI job: never prompt; identity from JIT_ID_TOKEN, GitHub Actions OIDC or --client-secret-env'
complete -c jit -n "__jit_at 'jit audit show'" -l client-id -r -d 'service account client id for --client-secret-env (default: oidc.client_id)'
complete -c jit -n "__jit_at 'jit audit show'" -l client-secret-env -r -d 'environment variable holding a service account\'s client secret (client-credentials grant)'
complete -c jit -n "__jit_at 'jit audit show'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_arg 'jit audit show' 0" -F
complete -c jit -n "__jit_at 'jit audit tail'" -l audit-dir -r -F -d 'the audit directory (default: $JIT_AUDIT_DIR or the platform default)'
complete -c jit -n "__jit_at 'jit audit tail'" -s n -l lines -r -d 'how many records'
complete -c jit -n "__jit_at 'jit audit tail'" -s f -l follow -d 'keep printing new records (and new session files) until Ctrl-C'
complete -c jit -n "__jit_at 'jit audit tail'" -l json -d 'print JSON lines, exactly as stored'
complete -c jit -n "__jit_at 'jit audit tail'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_arg 'jit audit tail' 0" -F
complete -c jit -n "__jit_at 'jit audit export'" -l audit-dir -r -F -d 'the audit directory (default: $JIT_AUDIT_DIR or the platform default)'
complete -c jit -n "__jit_at 'jit audit export'" -l format -r -d 'jsonl or csv'
complete -c jit -n "__jit_at 'jit audit export'" -s o -l output -r -F -d 'write to FILE (mode 0600) instead of stdout'
complete -c jit -n "__jit_at 'jit audit export'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_arg 'jit audit export' 0" -F
complete -c jit -n "__jit_at 'jit audit push'" -l audit-dir -r -F -d 'the audit directory (default: $JIT_AUDIT_DIR or the platform default)'
complete -c jit -n "__jit_at 'jit audit push'" -s c -l config -r -F -d 'config file naming the broker (default: $JIT_CONFIG or ./jit.yaml)'
complete -c jit -n "__jit_at 'jit audit push'" -l ci -d 'CI job: never prompt; identity from JIT_ID_TOKEN, GitHub Actions OIDC or --client-secret-env'
complete -c jit -n "__jit_at 'jit audit push'" -l client-id -r -d 'service account client id for --client-secret-env (default: oidc.client_id)'
complete -c jit -n "__jit_at 'jit audit push'" -l client-secret-env -r -d 'environment variable holding a service account\'s client secret (client-credentials grant)'
complete -c jit -n "__jit_at 'jit audit push'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_arg 'jit audit push' 0" -F
complete -c jit -n "__jit_arg 'jit audit help' 0" -a 'verify show tail export push'
complete -c jit -n "__jit_at 'jit completion'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_arg 'jit completion' 0" -a 'bash zsh fish'
complete -c jit -n "__jit_at 'jit doctor'" -s c -l config -r -F -d 'config file (default: $JIT_CONFIG or ./jit.yaml)'
complete -c jit -n "__jit_at 'jit doctor'" -s t -l target -r -a '(__jit_targets)' -d 'check only this target (default: all of them)'
complete -c jit -n "__jit_at 'jit doctor'" -l json -d 'print a JSON array of {check, status, detail, fix}'
complete -c jit -n "__jit_at 'jit doctor'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_at 'jit broker'" -s c -l config -r -F -d 'the broker config (default: $JIT_BROKER_CONFIG or ./broker.yaml)'
complete -c jit -n "__jit_at 'jit broker'" -l check -d 'validate the config and the environment it names, then exit'
complete -c jit -n "__jit_at 'jit broker'" -s h -l help -d 'display help for command'
complete -c jit -n "__jit_arg 'jit help' 0" -a 'login logout whoami run proxy watch approve grants demo policy audit completion doctor broker'
