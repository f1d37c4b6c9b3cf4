# fish completion for sockctl(1).
# Each command's part starts with a `# cmd: NAME` line; the test
# tests/integration/test_docs.c checks that it lists every flag that
# `sockctl NAME --help` shows.

function __sockctl_commands
    sockctl --list-commands 2>/dev/null
    echo help
end

# Is this `serve --udp PORT`?  It runs udp-listen with the other options.
function __sockctl_serve_udp
    set -l words (commandline -opc)
    contains -- serve $words
    and string match -qr -- '^--udp(=|$)' $words
end

# The `opts list` KIND flags of the sockets the command on the line opens:
# the kinds its -o names must fit.
function __sockctl_kinds
    set -l words (commandline -opc)
    if contains -- opts $words
        set -l kind --tcp
        for w in $words
            contains -- $w --tcp --udp --tcp6 --udp6 --unix --unix-dgram
            and set kind $w
        end
        echo $kind
    else if contains -- udp-send $words; or contains -- udp-listen $words; or __sockctl_serve_udp
        if string match -qr -- '^--unix(=|$)' $words
            echo --unix-dgram
        else
            echo --udp
            echo --udp6
        end
    else if string match -qr -- '^--unix(=|$)' $words
        echo --unix
    else if contains -- connect $words; and contains -- -4 $words
        echo --tcp
    else if contains -- connect $words; and contains -- -6 $words
        echo --tcp6
    else
        echo --tcp
        echo --tcp6
    end
end

# Socket option names of those kinds, each with its description, as the
# word is being typed: upper case, or, once it holds a lower-case letter,
# lower case with and without the SO_/TCP_/... prefix (sockctl takes
# both).  A short name two options share is left out, since sockctl calls
# it ambiguous.  With "set": only options that can be set, each with a
# `=` for its value.
function __sockctl_sockopts -a mode
    set -l lower
    set -l rw
    test "$mode" = set
    and set rw 1
    commandline -ct | string replace -r -- '^--[^=]*=' '' | string match -qr '[a-z]'
    and set lower 1
    for k in (__sockctl_kinds)
        sockctl opts list $k 2>/dev/null
    end | awk -v lower="$lower" -v set="$rw" '
        ($3 == "read-only" && set) || $1 in seen { next }
        {
            d = $0
            sub(/^[^ ]+ +[^ ]+ +[^ ]+ +/, "", d)
            s = $1
            sub(/^(SO|TCP|UDP|IPV6|IP)_/, "", s)
            seen[$1]; full[++n] = $1; short[n] = s; desc[n] = d
            count[s]++
        }
        END {
            sfx = set ? "=" : ""
            for (i = 1; i <= n; i++) {
                if (!lower) {
                    print full[i] sfx "\t" desc[i]
                    continue
                }
                print tolower(full[i]) sfx "\t" desc[i]
                if (count[short[i]] == 1)
                    print tolower(short[i]) sfx "\t" desc[i]
            }
        }'
end

# Every name in /etc/hosts (fish's own list leaves out those of loopback
# addresses, which are what a test server listens on), then the others
# fish knows.
function __sockctl_hosts
    begin
        awk '{ sub(/#.*/, ""); for (i = 2; i <= NF; i++) print $i }' /etc/hosts 2>/dev/null
        __fish_print_hostnames
    end | awk '!seen[$0]++'
end

# Service names and port numbers of protocol $argv[1] from /etc/services.
function __sockctl_ports -a proto
    awk -v proto=$proto '
        $1 !~ /^#/ && $2 ~ ("/" proto "$") {
            sub(/\/.*/, "", $2)
            print $1; print $2
            for (i = 3; i <= NF && $i !~ /^#/; i++)
                print $i
        }' /etc/services 2>/dev/null
end

# Are there $argv[1] arguments (words that are neither flags nor the values
# of flags) after the command?  $argv[2..] are the flags that take their
# value in the next word.
function __sockctl_nargs -a want
    set -l values $argv[2..-1]
    set -l n -1
    set -l skip 0
    for w in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case '--*=*'
            case '-*'
                contains -- $w $values
                and set skip 1
            case '*'
                set n (math $n + 1)
        end
    end
    test $n = $want
end

complete -c sockctl -f
complete -c sockctl -n __fish_use_subcommand -a '(__sockctl_commands)'
# cmd: sockctl
complete -c sockctl -n __fish_use_subcommand -s h -l help -d 'show help'
complete -c sockctl -n __fish_use_subcommand -s V -l version -d 'show the version'
complete -c sockctl -n '__fish_seen_subcommand_from help' -a '(__sockctl_commands)'

# cmd: resolve
set -l c '__fish_seen_subcommand_from resolve'
complete -c sockctl -n $c -s 4 -d 'IPv4 results only'
complete -c sockctl -n $c -s 6 -d 'IPv6 results only'
complete -c sockctl -n $c -s t -l type -x -a 'stream dgram raw' -d 'socket type'
complete -c sockctl -n $c -l passive -d AI_PASSIVE
complete -c sockctl -n $c -l canonname -d AI_CANONNAME
complete -c sockctl -n $c -l numeric-host -d 'numeric host only'
complete -c sockctl -n $c -l numeric-serv -d 'numeric service only'
complete -c sockctl -n $c -l v4mapped -d AI_V4MAPPED
complete -c sockctl -n $c -l all -d AI_ALL
complete -c sockctl -n $c -l addrconfig -d AI_ADDRCONFIG
complete -c sockctl -n $c -s r -l reverse -d 'reverse lookup'
complete -c sockctl -n $c -l namereqd -d NI_NAMEREQD
complete -c sockctl -n $c -l nofqdn -d NI_NOFQDN
complete -c sockctl -n $c -l dgram -d NI_DGRAM
complete -c sockctl -n $c -l service -x -d 'look up a service'
complete -c sockctl -n $c -l protocol -x -d 'look up a protocol'
complete -c sockctl -n $c -l hostname -d 'this host name'
complete -c sockctl -n $c -l fqdn -d 'this host fully qualified name'
complete -c sockctl -n $c -l pton -x -d 'address to hex'
complete -c sockctl -n $c -l ntop -x -d 'hex to address'
complete -c sockctl -n $c -l byteorder -x -d 'htons and htonl of N'
complete -c sockctl -n $c -l json -d 'JSON output'
complete -c sockctl -n $c -s h -l help -d 'show help'

# cmd: serve
set -l c '__fish_seen_subcommand_from serve; and not __sockctl_serve_udp'
complete -c sockctl -n $c -l tcp -x -d 'listen on a TCP port'
complete -c sockctl -n $c -l unix -r -F -d 'listen on a Unix socket'
complete -c sockctl -n $c -l udp -x -d 'run udp-listen on a UDP port'
complete -c sockctl -n $c -s b -l bind -x -a '(__fish_print_hostnames)' -d 'address to listen on'
complete -c sockctl -n $c -s 4 -d 'IPv4 only'
complete -c sockctl -n $c -s 6 -d 'IPv6 only'
complete -c sockctl -n $c -l backlog -x -d 'listen backlog'
complete -c sockctl -n $c -s o -l sockopt -x -a '(__sockctl_sockopts set)' -d 'set a socket option'
complete -c sockctl -n $c -l echo -d 'send every byte back'
complete -c sockctl -n $c -l prefix -x -d 'send each line back after STR'
complete -c sockctl -n $c -l timestamp -d 'send each line back after the time'
complete -c sockctl -n $c -l broker -d 'send to every other client'
complete -c sockctl -n $c -l chat -d 'a chat room'
complete -c sockctl -n $c -l relay -d 'clients to stdout, stdin to clients'
complete -c sockctl -n $c -l discard -d 'read and drop everything'
complete -c sockctl -n $c -l exec -x -a '(__fish_complete_command)' -d 'run a command per connection'
complete -c sockctl -n $c -l banner -x -d 'greeting for each client'
complete -c sockctl -n $c -l once -d 'serve one client then exit'
complete -c sockctl -n $c -s w -l accept-timeout -x -d 'exit 5 if no client comes'
complete -c sockctl -n $c -s m -l max-conns -x -d 'at most N clients'
complete -c sockctl -n $c -s i -l idle-timeout -x -d 'close idle clients'
complete -c sockctl -n $c -l allow -x -d 'accept only from CIDR'
complete -c sockctl -n $c -l deny -x -d 'never accept from CIDR'
complete -c sockctl -n $c -l allow-file -r -F -d 'CIDRs to allow'
complete -c sockctl -n $c -l deny-file -r -F -d 'CIDRs to deny'
complete -c sockctl -n $c -s N -l shutdown-on-eof -d 'relay: half-close at end of stdin'
complete -c sockctl -n $c -l spin -x -d 'poll USEC after traffic before sleeping'
complete -c sockctl -n $c -l print -d 'show what clients send'
complete -c sockctl -n $c -l no-print -d 'do not show what clients send'
complete -c sockctl -n $c -l no-splice -d 'relay: copy through a buffer'
complete -c sockctl -n $c -l log-format -x -a 'text json' -d 'status lines as'
complete -c sockctl -n $c -l trace -r -F -d 'record every chunk'
complete -c sockctl -n $c -s q -l quiet -d 'no status lines'
complete -c sockctl -n $c -s v -l verbose -d 'more status lines'
complete -c sockctl -n $c -s h -l help -d 'show help'

# cmd: udp-send
set -l c '__fish_seen_subcommand_from udp-send'
# HOST PORT MESSAGE..., or --unix PATH MESSAGE...
set -l v -c --count --interval --ttl -s --source -p --source-port --unix -o --sockopt -w --wait --expect --spin
complete -c sockctl -n "$c; and not __fish_contains_opt unix; and __sockctl_nargs 0 $v" -a '(__sockctl_hosts)' -d host
complete -c sockctl -n "$c; and not __fish_contains_opt unix; and __sockctl_nargs 1 $v" -a '(__sockctl_ports udp)' -d port
complete -c sockctl -n $c -l whole -d 'all of stdin is one datagram'
complete -c sockctl -n $c -s c -l count -x -d 'send each datagram N times, like ping'
complete -c sockctl -n $c -l interval -x -d 'seconds between datagrams'
complete -c sockctl -n $c -l broadcast -d 'allow a broadcast address'
complete -c sockctl -n $c -l ttl -x -d 'IP TTL / hop limit'
complete -c sockctl -n $c -s s -l source -x -d 'local address'
complete -c sockctl -n $c -s p -l source-port -x -d 'local port'
complete -c sockctl -n $c -s 4 -d 'IPv4 only'
complete -c sockctl -n $c -s 6 -d 'IPv6 only'
complete -c sockctl -n $c -l unix -r -F -d 'Unix datagram socket'
complete -c sockctl -n $c -s o -l sockopt -x -a '(__sockctl_sockopts set)' -d 'set a socket option'
complete -c sockctl -n $c -s w -l wait -x -d 'seconds to wait for replies'
complete -c sockctl -n $c -l expect -x -d 'exit 5 unless N replies'
complete -c sockctl -n $c -l spin -x -d 'poll USEC after traffic before sleeping'
complete -c sockctl -n $c -l raw -d 'payload bytes only'
complete -c sockctl -n $c -s x -l hex -d 'hex dump'
complete -c sockctl -n $c -l json -d 'JSON lines'
complete -c sockctl -n $c -s v -l verbose -d 'more status lines'
complete -c sockctl -n $c -s q -l quiet -d 'no status lines'
complete -c sockctl -n $c -s h -l help -d 'show help'

# cmd: udp-listen
set -l c '__fish_seen_subcommand_from udp-listen; or __sockctl_serve_udp'
complete -c sockctl -n $c -l echo -d 'send each datagram back'
complete -c sockctl -n $c -l no-echo -d 'send nothing back'
complete -c sockctl -n $c -l prefix -x -d 'send lines back after STR'
complete -c sockctl -n $c -l timestamp -d 'send lines back after the time'
complete -c sockctl -n $c -l reply -d 'answer with lines of stdin'
complete -c sockctl -n $c -l raw -d 'payload bytes only'
complete -c sockctl -n $c -s x -l hex -d 'hex dump'
complete -c sockctl -n $c -l json -d 'JSON lines'
complete -c sockctl -n $c -s b -l bind -x -d 'address to listen on'
complete -c sockctl -n $c -s 4 -d 'IPv4 only'
complete -c sockctl -n $c -s 6 -d 'IPv6 only'
complete -c sockctl -n $c -l unix -r -F -d 'Unix datagram socket'
complete -c sockctl -n $c -l group -x -d 'join a multicast group'
complete -c sockctl -n $c -l max-size -x -d 'largest datagram accepted'
complete -c sockctl -n $c -s c -l count -x -d 'exit after N datagrams'
complete -c sockctl -n $c -l once -d 'exit after one datagram'
complete -c sockctl -n $c -l spin -x -d 'poll USEC after traffic before sleeping'
complete -c sockctl -n $c -s o -l sockopt -x -a '(__sockctl_sockopts set)' -d 'set a socket option'
complete -c sockctl -n $c -s v -l verbose -d 'more status lines'
complete -c sockctl -n $c -s q -l quiet -d 'no status lines'
complete -c sockctl -n $c -s h -l help -d 'show help'

# cmd: opts
set -l c '__fish_seen_subcommand_from opts'
complete -c sockctl -n "$c; and not __fish_seen_subcommand_from list get set" -a 'list get set'
complete -c sockctl -n "$c; and __fish_seen_subcommand_from get" -a '(__sockctl_sockopts get)'
complete -c sockctl -n "$c; and __fish_seen_subcommand_from set" -a '(__sockctl_sockopts set)'
complete -c sockctl -n $c -l tcp -d 'TCP over IPv4'
complete -c sockctl -n $c -l udp -d 'UDP over IPv4'
complete -c sockctl -n $c -l tcp6 -d 'TCP over IPv6'
complete -c sockctl -n $c -l udp6 -d 'UDP over IPv6'
complete -c sockctl -n $c -l unix -d 'Unix stream socket'
complete -c sockctl -n $c -l unix-dgram -d 'Unix datagram socket'
complete -c sockctl -n $c -s l -l level -x -a 'socket ip ipv6 tcp udp' -d 'only options of LEVEL'
complete -c sockctl -n $c -l json -d 'JSON output'
complete -c sockctl -n $c -s h -l help -d 'show help'
# cmd: connect
set -l c '__fish_seen_subcommand_from connect'
# HOST PORT, or --unix PATH.
set -l v --unix -s --source -p --source-port -w --connect-timeout --retry --retry-delay --prompt --eol --history --linger --send --quit-after -i --idle-timeout --delay --rate --trace --spin -o --sockopt
complete -c sockctl -n "$c; and not __fish_contains_opt unix; and __sockctl_nargs 0 $v" -a '(__sockctl_hosts)' -d host
complete -c sockctl -n "$c; and not __fish_contains_opt unix; and __sockctl_nargs 1 $v" -a '(__sockctl_ports tcp)' -d port
complete -c sockctl -n $c -s I -l interactive -d 'a prompt even without a terminal'
complete -c sockctl -n $c -l pipe -d 'a byte relay even on a terminal'
complete -c sockctl -n $c -s z -l scan -d 'only check which ports accept'
complete -c sockctl -n $c -s 4 -d 'IPv4 only'
complete -c sockctl -n $c -s 6 -d 'IPv6 only'
complete -c sockctl -n $c -l unix -r -F -d 'Unix stream socket'
complete -c sockctl -n $c -s s -l source -x -d 'local address'
complete -c sockctl -n $c -s p -l source-port -x -d 'local port'
complete -c sockctl -n $c -s w -l connect-timeout -x -d 'give up connecting after SECS'
complete -c sockctl -n $c -l retry -x -d 'try N more times'
complete -c sockctl -n $c -l retry-delay -x -d 'seconds between tries'
complete -c sockctl -n $c -l prompt -x -d 'the prompt'
complete -c sockctl -n $c -l eol -x -a 'lf crlf none' -d 'line ending sent'
complete -c sockctl -n $c -s C -l crlf -d 'the same as --eol crlf'
complete -c sockctl -n $c -l history -r -F -d 'history file'
complete -c sockctl -n $c -l no-history -d 'keep no history'
complete -c sockctl -n $c -l linger -x -d 'after Ctrl-D wait SECS'
complete -c sockctl -n $c -l send -x -d 'send STR and print the reply'
complete -c sockctl -n $c -l send-only -d 'drop what the peer sends'
complete -c sockctl -n $c -l recv-only -d 'never read stdin'
complete -c sockctl -n $c -l no-shutdown -d 'no shutdown at stdin EOF'
complete -c sockctl -n $c -l quit-after -x -d 'after stdin EOF wait SECS'
complete -c sockctl -n $c -s i -l idle-timeout -x -d 'give up after SECS without traffic'
complete -c sockctl -n $c -l delay -x -d 'wait SECS after each line'
complete -c sockctl -n $c -l rate -x -d 'bytes a second'
complete -c sockctl -n $c -s x -l hex -d 'hex dump of received data'
complete -c sockctl -n $c -l progress -a always -d 'live byte count (=always: even without a terminal)'
complete -c sockctl -n $c -l trace -r -F -d 'record every chunk in FILE'
complete -c sockctl -n $c -l no-splice -d 'copy through a buffer'
complete -c sockctl -n $c -l spin -x -d 'poll USEC after traffic before sleeping'
complete -c sockctl -n $c -s o -l sockopt -x -a '(__sockctl_sockopts set)' -d 'socket option'
complete -c sockctl -n $c -l json -d 'JSON lines'
complete -c sockctl -n $c -s v -l verbose -d 'more status lines'
complete -c sockctl -n $c -s q -l quiet -d 'no status lines'
complete -c sockctl -n $c -s h -l help -d 'show help'
# cmd: end
