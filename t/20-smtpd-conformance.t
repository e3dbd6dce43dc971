#!/bin/bash
# The SMTP conformance battery: each file in t/data/conformance/ is one case,
# the lines a client sends and the replies sluice-smtpd must give (reply
# codes, enhanced status codes, ordering), played against the real
# sluice-smtpd under tcpserver by t/tools/smtp-case.py.  Cases marked
# "#! split" run again with every pipelined group cut into two TCP segments
# at each octet.  Servers: main (the defaults), limits (max_recipients 3),
# timeouts (smtpd_timeout 2s, smtpd_session_time_limit 4s,
# smtpd_data_time_limit 3s).
. "$(dirname "$0")/lib.sh"
. "$top/t/smtpd.sh"

cases=("$top"/t/data/conformance/*.case)
[ -e "${cases[0]}" ] || bail "no cases in t/data/conformance"
smtpd_conf main
smtpd_conf limits max_recipients 3
smtpd_conf timeouts smtpd_timeout 2s smtpd_session_time_limit 4s smtpd_data_time_limit 3s
smtpd_start p_main "$tmpdir/main" "$tmpdir/echo-main"
smtpd_start p_limits "$tmpdir/limits" "$tmpdir/echo-limits"
smtpd_start p_timeouts "$tmpdir/timeouts" "$tmpdir/echo-timeouts"

for c in "${cases[@]}"; do
    name=$(basename "$c" .case)
    server=$(sed -n 's/^#! server //p' "$c")
    case ${server:-main} in
        main) port=$p_main ;;
        limits) port=$p_limits ;;
        timeouts) port=$p_timeouts ;;
        *) bail "$name: unknown server $server" ;;
    esac
    what=$(sed -n '1s/^# //p' "$c")
    out=$("$PY" "$top/t/tools/smtp-case.py" "$port" "$c" 2>&1)
    ok $? "$name: $what"
    case $out in ok*) ;; *) diag "$out" ;; esac
done
# Nothing smuggled was ever queued as a message of its own.
# (A queued message is one transaction: its envelope is in its first lines.)
n=0
for f in "$tmpdir"/echo-*/*.msg; do
    [ -e "$f" ] && sed -n '1,3p' "$f" | grep -q '^MAIL FROM:<evil@' && n=$((n + 1))
done
is "$n" 0 "no smuggled transaction was handed to the queue"
ok $([ "$(cat "$tmpdir"/echo-main/*.msg 2>/dev/null | grep -c '^MAIL FROM:<evil@')" -gt 0 ]; echo $?) \
    "the smuggling text was queued as body text of the one message that held it"
is "$(ls "$tmpdir"/echo-timeouts/*.msg 2>/dev/null | wc -l)" 0 "no message cut off by a time limit was queued"
done_testing
