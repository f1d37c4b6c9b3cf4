# bash completion for sockctl(1).
# Each command's part starts with a `# cmd: NAME` line; the test
# tests/integration/test_docs.c checks that it lists every flag that
# `sockctl NAME --help` shows.

# Socket option names of the kinds given as `opts list` flags ($3...), as
# the word $1 is being typed: upper case, or, once it holds a lower-case
# letter, lower case with and without the SO_/TCP_/... prefix (sockctl
# takes both).  A short name two options share is left out, since sockctl
# calls it ambiguous.  $2 "set": only options that can be set, each with
# a `=` for its value.
_sockctl_sockopts()
{
	local lower="" set=$2 k
	[[ $1 == *[a-z]* ]] && lower=1
	shift 2
	for k; do
		sockctl opts list "$k" 2>/dev/null
	done | awk -v lower="$lower" -v set="$set" '
		($3 == "read-only" && set) || $1 in seen { next }
		{
			s = $1
			sub(/^(SO|TCP|UDP|IPV6|IP)_/, "", s)
			seen[$1]; full[++n] = $1; short[n] = s; count[s]++
		}
		END {
			sfx = set ? "=" : ""
			for (i = 1; i <= n; i++) {
				if (!lower) {
					print full[i] sfx
					continue
				}
				print tolower(full[i]) sfx
				if (count[short[i]] == 1)
					print tolower(short[i]) sfx
			}
		}'
}

# The `opts list` KIND flags of the sockets that command $1 opens with the
# flags typed so far: the kinds its -o names must fit.
_sockctl_kinds()
{
	local w unix="" fam="" kind=--tcp

	for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
		case $w in
		--unix) unix=1 ;;
		-4 | -6) fam=$w ;;
		esac
		case $w in
		--tcp | --udp | --tcp6 | --udp6 | --unix | --unix-dgram) kind=$w ;;
		esac
	done
	case $1 in
	opts) echo "$kind" ;;
	udp-send | udp-listen)
		[[ $unix ]] && echo --unix-dgram || echo --udp --udp6 ;;
	*)
		if [[ $unix ]]; then
			echo --unix
		elif [[ $1 == connect && $fam ]]; then
			[[ $fam == -4 ]] && echo --tcp || echo --tcp6
		else
			echo --tcp --tcp6
		fi ;;
	esac
}

# Service names and port numbers of protocol $1 from /etc/services.
_sockctl_ports()
{
	awk -v proto="$1" '
		$1 !~ /^#/ && $2 ~ ("/" proto "$") {
			sub(/\/.*/, "", $2)
			print $1; print $2
			for (i = 3; i <= NF && $i !~ /^#/; i++)
				print $i
		}' /etc/services 2>/dev/null
}

# How many arguments (words that are neither flags nor the values of
# flags) lie between the command word at index $1 and the cursor; $2 is
# the flags that take their value in the next word.
_sockctl_nargs()
{
	local i n=0 w

	for ((i = $1 + 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		=) ((i++)) ;; # bash splits --flag=VALUE in three words
		-*) [[ " $2 " == *" $w "* && ${COMP_WORDS[i+1]} != = ]] &&
			((i++)) ;;
		*) ((n++)) ;;
		esac
	done
	echo $n
}

_sockctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cmd="" at=0 flags="" values="" eq="" i

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) cmd=${COMP_WORDS[i]} at=$i; break ;;
		esac
	done
	# cmd: sockctl
	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$(sockctl --list-commands 2>/dev/null) help -h --help -V --version" -- "$cur"))
		return
	fi
	# bash splits --flag=VALUE into "--flag" "=" "VALUE": complete VALUE
	# as the value of --flag.  After NAME= of -o there is nothing to offer.
	if [[ $cur == = ]]; then
		cur="" eq=1
	elif [[ $prev == = ]]; then
		prev=${COMP_WORDS[COMP_CWORD-2]} eq=1
	fi
	[[ $eq && $prev != -* ]] && return
	# `serve --udp PORT` runs udp-listen with the other options.
	[[ $cmd == serve && " ${COMP_WORDS[*]:at:COMP_CWORD-at} " == *" --udp "* ]] &&
		cmd=udp-listen
	if [[ $cmd != opts ]]; then
		case $prev in
		--unix|--trace|--history|--allow-file|--deny-file)
			compopt -o filenames
			COMPREPLY=($(compgen -f -- "$cur"))
			return ;;
		-o|--sockopt)
			compopt -o nospace
			COMPREPLY=($(compgen -W "$(_sockctl_sockopts "$cur" set $(_sockctl_kinds $cmd))" -- "$cur"))
			return ;;
		esac
	fi
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
		values="-c --count --interval --ttl -w --wait --expect -s --source
			-p --source-port --spin --unix -o --sockopt"
		[[ " $values " == *" $prev "* ]] && return
		flags="--whole -c --count --interval --broadcast --ttl -s --source
		       -p --source-port -4 -6 --unix -o --sockopt -w --wait --expect
		       --spin --raw -x --hex --json -v --verbose -q --quiet -h --help"
		# HOST PORT MESSAGE..., or --unix PATH MESSAGE...
		if [[ $cur != -* && " ${COMP_WORDS[*]} " != *" --unix "* ]]; then
			case $(_sockctl_nargs $at "$values") in
			0) flags=$(compgen -A hostname) ;;
			1) flags=$(_sockctl_ports udp) ;;
			*) return ;;
			esac
		fi ;;
	# cmd: udp-listen
	udp-listen)
		# --udp: the port of `serve --udp PORT`.
		case $prev in
		--prefix|-b|--bind|--group|--max-size|-c|--count|--spin|--udp)
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
			# The subcommand, then the option names of the KIND
			# given (NAME= for set).
			case " ${COMP_WORDS[*]:at+1:COMP_CWORD-at-1} " in
			*" get "*)
				flags=$(_sockctl_sockopts "$cur" "" $(_sockctl_kinds opts)) ;;
			*" set "*)
				compopt -o nospace
				flags=$(_sockctl_sockopts "$cur" set $(_sockctl_kinds opts)) ;;
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
		--progress)
			# Its value only ever comes after `=`.
			if [[ $eq ]]; then
				COMPREPLY=($(compgen -W "always" -- "$cur"))
				return
			fi ;;
		esac
		values="-s --source -p --source-port -w --connect-timeout --retry
			--retry-delay --prompt --linger --send --quit-after
			-i --idle-timeout --delay --rate --spin --eol --unix --trace
			--history -o --sockopt"
		[[ " $values " == *" $prev "* ]] && return
		flags="-I --interactive --pipe -z --scan -4 -6 --unix -s --source
		       -p --source-port -w --connect-timeout --retry --retry-delay
		       --prompt --eol -C --crlf --history --no-history --linger
		       --send --send-only --recv-only --no-shutdown --quit-after
		       -i --idle-timeout --delay --rate -x --hex --progress
		       --progress=always --trace --no-splice --spin -o --sockopt --json
		       -v --verbose -q --quiet -h --help"
		# HOST PORT, or --unix PATH.
		if [[ $cur != -* ]]; then
			[[ " ${COMP_WORDS[*]} " == *" --unix "* ]] && return
			case $(_sockctl_nargs $at "$values") in
			0) flags=$(compgen -A hostname) ;;
			1) flags=$(_sockctl_ports tcp) ;;
			*) return ;;
			esac
		fi ;;
	# cmd: end
	esac
	COMPREPLY=($(compgen -W "$flags" -- "$cur"))
}

complete -F _sockctl sockctl
