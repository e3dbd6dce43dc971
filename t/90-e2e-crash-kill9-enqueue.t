#!/bin/bash
# t/90-e2e-crash-kill9.t with sluice-smtpd running sluice-enqueue for each
# message (SLUICE_QUEUE=sluice-enqueue, the path of a before-queue chain and
# of a spool that is another user's), so that kill -9 hits sluice-enqueue
# processes as well as sluice-smtpd's own queue writing.
E2E_QUEUE=sluice-enqueue exec "$(dirname "$0")/90-e2e-crash-kill9.t"
