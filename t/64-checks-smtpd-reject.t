#!/bin/bash
# sluice-checks before the queue (sluice-smtpd with SLUICE_QUEUE=
# 'sluice-checks -- sluice-enqueue'): a REJECT rule refuses the message at
# the end of DATA with 554 and the rule's status and text, and nothing is
# queued; DISCARD and HOLD accept it (250) and queue nothing, HOLD keeping
# it in the spool's hold/; a message no rule matches is queued once,
# tagged when a TAG rule matched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"
. "$(dirname "$0")/content.sh"

data=$top/t/data/checks
spool=$tmpdir/spool
send() { bq_send "$1" < "$2"; }	# send PORT FILE: "CODE TEXT" of the DATA reply

smtpd_conf bq spool "$spool"
cp "$data/header_checks" "$data/body_checks" "$tmpdir/bq/"
bq_start port bq sluice-checks

is "$(send "$port" "$data/reject.in")" "554 5.7.0 no lotteries here" \
    "a REJECT rule refuses the message with its status and text"
is "$(bq_queued)" 0 "nothing of it is queued"
is "$(send "$port" "$data/exe.in")" "554 5.7.1 executables are not accepted" \
    "a rule without a status: 554 5.7.1"
is "$(send "$port" "$data/qp-discard.in") $(bq_queued)" "250 queued 0" "DISCARD: accepted, nothing queued"
is "$(send "$port" "$data/hold.in") $(bq_queued) $(ls "$spool/hold" | wc -l)" "250 queued 0 1" \
    "HOLD: accepted, kept in hold/, nothing queued"
is "$(send "$port" "$data/clean.in") $(bq_queued)" "250 queued 1" "a clean message is queued"
rm -f "$spool/incoming/"*
is "$(send "$port" "$data/tag.in") $(bq_queued)" "250 queued 1" "a tagged message is queued"
f=$(ls "$spool/incoming/"* | head -1)
like "$(sed -n '/^DATA$/,$p' "$f" | grep -m2 '^X-Checks:' | tr '\n' ' ')" \
    '^X-Checks: bulk mailer X-Checks: phishing words $' "with its TAG fields"
done_testing
