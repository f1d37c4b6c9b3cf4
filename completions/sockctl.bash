# bash completion for sockctl(1).
# Each command's part starts with a `# cmd: NAME` line; the test
# tests/integration/test_docs.c checks that it lists every flag that
# `sockctl NAME --help` shows.

_sockctl_sockopts()
{
	sockctl opts list 2>/dev/null | awk '{ print $1 }'
}

_sockctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cmd="" flags="" i

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	# cmd: sockctl
	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$(sockctl --list-commands 2>/dev/null) help -h --help -V --version" -- "$cur"))
		return
	fi
	case $prev in
	--unix|--trace|--history|--allow-file|--deny-file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	-o|--sockopt)
		COMPREPLY=($(compgen -W "$(_sockctl_sockopts)" -- "$cur"))
		return ;;
	esac
	case $cmd in
	help)
		COMPREPLY=($(compgen -W "$(sockctl --list-commands 2>/dev/null)" -- "$cur"))
		return ;;
	# cmd: resolve
	resolve)
		case $prev in
		-t|--type)
			COMPREPLY=($(compgen -W "stream dgram raw" -- "$cur"))
			return ;;
		--protocol|--service|--pton|--ntop|--byteorder)
			return ;;
		esac
		flags="-4 -6 -t --type --passive --canonname --numeric-host
		       --numeric-serv --v4mapped --all --addrconfig -r --reverse
		       --namereqd --nofqdn --dgram --service --protocol
		       --hostname --fqdn --pton --ntop --byteorder --json
		       -h --help" ;;
	# cmd: serve
	serve)
		case $prev in
		--log-format)
			COMPREPLY=($(compgen -W "text json" -- "$cur"))
			return ;;
		--exec)
			COMPREPLY=($(compgen -c -- "$cur"))
			return ;;
		--tcp|--udp|-b|--bind|--backlog|--prefix|--banner|-w|--accept-timeout|-m|--max-conns|-i|--idle-timeout|--allow|--deny|--spin)
			return ;;
		esac
		flags="--tcp --unix --udp -b --bind -4 -6 --backlog -o --sockopt --echo --prefix
		       --timestamp --broker --chat --relay --discard --exec
		       --banner --once -w --accept-timeout -m --max-conns
		       -i --idle-timeout --allow --deny --allow-file --deny-file
		       -N --shutdown-on-eof --spin --print --no-print --no-splice
		       --log-format --trace -q --quiet -v --verbose -h --help" ;;
	# cmd: udp-send
	udp-send)
		case $prev in
		-c|--count|--interval|--ttl|-w|--wait|--expect|-s|--source|-p|--source-port|--spin)
			return ;;
		esac
		flags="--whole -c --count --interval --broadcast --ttl -s --source
		       -p --source-port -4 -6 --unix -o --sockopt -w --wait --expect
		       --spin --raw -x --hex --json -v --verbose -q --quiet -h --help" ;;
	# cmd: udp-listen
	udp-listen)
		case $prev in
		--prefix|-b|--bind|--group|--max-size|-c|--count|--spin)
			return ;;
		esac
		flags="--echo --no-echo --prefix --timestamp --reply --raw -x --hex
		       --json -b --bind -4 -6 --unix --group --max-size -c --count
		       --once -o --sockopt --spin -v --verbose -q --quiet -h --help" ;;
	# cmd: opts
	opts)
		case $prev in
		-l|--level)
			COMPREPLY=($(compgen -W "socket ip ipv6 tcp udp" -- "$cur"))
			return ;;
		esac
		flags="--tcp --udp --tcp6 --udp6 --unix --unix-dgram -l --level
		       --json -h --help"
		if [[ $cur != -* ]]; then
			# The subcommand, then option names (NAME= for set), in
			# lower case, with or without prefix, when typed so.
			local names=$(_sockctl_sockopts)
			[[ $cur == *[a-z]* ]] && names=$(tr A-Z a-z <<<"$names" |
				sed -E 'p; s/^(so|tcp|udp|ipv6|ip)_//' | sort -u)
			case " ${COMP_WORDS[*]:2:COMP_CWORD-2} " in
			*" get "*) flags=$names ;;
			*" set "*)
				compopt -o nospace
				flags=$(sed 's/$/=/' <<<"$names") ;;
			*" list "*) flags="" ;;
			*) flags="list get set" ;;
			esac
		fi ;;
	# cmd: connect
	connect)
		case $prev in
		--eol)
			COMPREPLY=($(compgen -W "lf crlf none" -- "$cur"))
			return ;;
		-s|--source|-p|--source-port|-w|--connect-timeout|--retry|\
		--retry-delay|--prompt|--linger|--send|--quit-after|\
		-i|--idle-timeout|--delay|--rate|--spin)
			return ;;
		esac
		flags="-I --interactive --pipe -z --scan -4 -6 --unix -s --source
		       -p --source-port -w --connect-timeout --retry --retry-delay
		       --prompt --eol -C --crlf --history --no-history --linger
		       --send --send-only --recv-only --no-shutdown --quit-after
		       -i --idle-timeout --delay --rate -x --hex --progress
		       --progress=always --trace --no-splice --spin -o --sockopt --json
		       -v --verbose -q --quiet -h --help"
		[[ $cur != -* ]] && flags=$(compgen -A hostname) ;;
	# cmd: end
	esac
	COMPREPLY=($(compgen -W "$flags" -- "$cur"))
}

complete -F _sockctl sockctl
