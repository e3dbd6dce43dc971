#!/bin/sh
# The envelope lines of a stream and the RFC 3464 fields of its notices:
# what the golden files of t/60-alias.t and t/61-route.t compare.
exec grep -E '^(XFORWARD|MAIL|RCPT|DATA$|To:|X-Original-Sender:|Original-Recipient:|Final-Recipient:|Action:|Status:|Diagnostic-Code:|Content-Type: (message|text/rfc822))'
