#!/bin/sh
# t/queue-echo.sh — a stand-in for sluice-enqueue in tests of sluice-smtpd.
#
# Copies the stream it gets on stdin into a file in $ECHO_DIR, so a test can
# check exactly what was handed over:
#   NAME.msg    a complete stream (its last line is a lone ".")
#   NAME.trunc  a truncated stream; then it exits 111, as the queue would
# With a complete stream it exits ${ECHO_EXIT:-0}, after writing $ECHO_REASON
# (if set) on stderr as "queue-echo: fatal: REASON". ECHO_EXIT=kill makes it
# die by SIGKILL instead.
dir=${ECHO_DIR:?queue-echo: ECHO_DIR is not set}
name=$(date +%s%N).$$
tmp=$dir/.tmp.$name
cat > "$tmp" || { echo "queue-echo: fatal: cannot write $tmp" >&2; exit 111; }
# Complete: the last line is "." and the file ends with a line end.
if [ "$(tail -n 1 "$tmp")" != "." ] || [ -n "$(tail -c 1 "$tmp" | tr -d '\n')" ]; then
    mv "$tmp" "$dir/$name.trunc"
    echo "queue-echo: fatal: truncated stream" >&2
    exit 111
fi
mv "$tmp" "$dir/$name.msg"
echo "queue-echo: ident=$(sed -n '1s/.*IDENT=\([0-9a-f]*\).*/\1/p' "$dir/$name.msg") saved" >&2
[ -z "${ECHO_REASON:-}" ] || echo "queue-echo: fatal: $ECHO_REASON" >&2
case ${ECHO_EXIT:-0} in
    kill) kill -KILL $$ ;;
    *) exit "${ECHO_EXIT:-0}" ;;
esac
