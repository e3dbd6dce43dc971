#!/bin/sh
# The envelope lines of a stream and the RFC 3464 fields of its notices:
# what the golden files of t/41-alias-golden.t and t/42-route-golden.t compare.
exec grep -E '^(XFORWARD|MAIL|RCPT|DATA$|To:|X-Original-Sender:|Original-Recipient:|Final-Recipient:|Action:|Status:|Diagnostic-Code:|Content-Type: (message|text/rfc822))'
