#ifndef RUNQ_H
#define RUNQ_H

/*
 * sluice-runq's modules share one struct runq, made in main and passed to
 * every function: the spool, the settings, the chains that run, the work
 * picked and the files staged for a commit.  Modules (file = module =
 * function prefix): qdir (the spool's folders), record (the record of
 * delivered recipients), pick (what is due), chain (running stages),
 * commit (what comes out goes back into the queue).
 */

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "bodyfile.h"
#include "qfree.h"
#include "qid.h"
#include "stream.h"
#include "strset.h"

#define STAGES_MAX 17		/* stages in the chain, sluice-retry included */
#define ARGS_MAX 32		/* words in one stage */
#define CHAINS_MAX 64		/* the concurrency setting's ceiling */
#define BATCH_MAX 10000		/* the batch_size setting's ceiling */
#define SCAN_INTERVAL 5		/* seconds between looks at deferred/ */
#define FILL_INTERVAL 5		/* seconds between an idle runner's fills of free/ */
#define TMP_STALE 86400		/* an unlockable tmp/ file older than this goes */
#define TMP_CLEAN_INTERVAL 3600	/* seconds between looks at tmp/ */
#define FLUSH_MAX 64		/* flush requests taken in one round */
#define FLUSH_ALL "*"	/* the flush request for every destination */
#define POLICY "sluice-retry"	/* the policy stage, last in every chain */

enum { INCOMING, DEFERRED };
extern const char *const qdir_names[2];

struct input {
	char qid[QID_LEN + 1];
	int dir;	/* INCOMING or DEFERRED */
	int seen;	/* a remainder came out of the chain */
	int kept;	/* the remainder was written back */
	int dead;	/* a part went to dead/ */
	size_t bounced;	/* recipients in the failure notices made for it */
};

/* A list of inputs: a batch, the to-do list, the held ones. */
struct inputs {
	struct input *v;
	size_t n, a;
};

struct chain {
	int active;
	pid_t pid[STAGES_MAX + 1];	/* [0] is the feeder */
	int npid, status;
	int out;	/* the chain's output, an unlinked file */
	struct input *in;
	size_t n;
};

/* A batch waiting to run again (the halves of a refused batch). */
struct split {
	struct input *in;
	size_t n;
};

/*
 * Whom a chain's stages run as, looked up before they start: a child of
 * vfork shares the runner's memory and may make system calls only, no
 * look-up in /etc/passwd or /etc/group.
 */
struct runas {
	int drop;	/* started as root, and the spool is another user's */
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
};

/* A queue file written by the runner: tmp/QID.DIR.runq, then renamed. */
struct staged {
	char qid[QID_LEN + 1];
	const char *dir;	/* "deferred" or "dead" */
};

struct runq {
	const char *spool;
	int spool_fd, trigger_fd, lock_fd;
	int msglock_fd;	/* spool/msglock: the lock of each message in a chain */
	/* settings */
	char chain_text[4096];
	char **stage_argv[STAGES_MAX];
	char *stage_words[STAGES_MAX][ARGS_MAX];
	int nstages;
	size_t batch_size, concurrency;
	/*
	 * While the runner is busy (a chain runs, or one ended less than
	 * this long ago), new arrivals wait up to this long, or until
	 * batch_size of them are there, for more to join them: a steady
	 * stream, even one client sending one message after another, makes
	 * batches instead of a chain per message or two.  An idle runner
	 * starts at once, and a batch no more mail joined for a fifth of
	 * batch_wait_ms starts then: a burst's last messages do not wait.
	 */
	long long batch_wait_ms;
	long long last_end_ms;	/* when the last chain ended (0: none yet) */
	long long last_arrival_ms;	/* the last trigger byte (0: none yet) */
	size_t arrivals;	/* trigger bytes since the last look at incoming/ */
	long long retry_min;	/* the wait when the policy stage failed */
	/* options */
	int once, force, any_queue_first;
	const char *flush_target;	/* -D: only messages for this destination */
	/* work */
	struct chain chains[CHAINS_MAX];
	struct inputs todo, held;
	size_t todo_pos;
	struct split *splits;
	size_t nsplits, asplits;
	struct strset inflight, processed, incoming_now;
	struct strset unreadable;	/* reported once each */
	/* commit */
	struct staged *staged;
	size_t nstaged, astaged;
	struct bodyfile sp;	/* a remainder's body on its way back */
	time_t next_tmp_clean;	/* 0 until the first look at tmp/ */
	time_t next_fill;	/* when an idle runner next fills free/ (qfree_fill) */
	struct qfree free;	/* the slots of free/ (lib/qfree.h) */
	uid_t spool_uid;	/* the spool's owner: kept files are its own */
	/* record: the run record of the chain being committed (record_take) */
	char *run_text;
	size_t run_len;
};

/* Set by the signal handlers (the only state outside struct runq). */
extern volatile sig_atomic_t runq_stopping, runq_got_child;

/* An array of *a elements of size sz made twice as long (first when empty). */
void *runq_grow(void *v, size_t *a, size_t first, size_t sz);
void runq_child_reset(const struct runq *);
/* As root, become the spool owner before running prog (not sluice-local). */
void runq_child_privs(const struct runq *, const char *prog);
/* The same decision made in advance, for children of vfork; 0 or -1. */
int runq_runas(const struct runq *, struct runas *);
/* Whether prog keeps root (sluice-local drops by itself). */
int runq_keeps_root(const char *prog);

/* qdir.c: the spool's folders */
void qdir_prepare(struct runq *);
int qdir_lock(struct runq *);
void qdir_request_flush(struct runq *) __attribute__((noreturn));
int qdir_sync(const struct runq *, const char *name);
int qdir_set_mtime(int fd, const char *name, time_t t);
void qdir_input_path(const struct input *, char *buf, size_t size);
int qdir_read_env(const struct runq *, const char *path, struct txn *t);
void qdir_clean_tmp(struct runq *);
size_t qdir_take(struct runq *, struct input *in, size_t n);
void qdir_release(const struct runq *, const struct input *in, size_t n);

/* record.c: the record of delivered recipients */
void record_init(struct runq *);
void record_remove(const struct runq *, const char *qid);
/* How many recipients the record of qid holds (0 when there is none). */
size_t record_count(const struct runq *, const char *qid);
void record_sync(const struct runq *, const char *qid);
/* SLUICE_DELIVERED_RUN for the chain of slot that starts now (-1: none). */
void record_env(const struct runq *, int slot);
void record_take(struct runq *, size_t slot);
/* After a chain: its run record emptied, or moved into per-id records. */
void record_settle(struct runq *, size_t slot, const struct input *in,
    size_t n, int committed);

/* pick.c: what is due */
void pick_scan(struct runq *, int deferred_too);

/* chain.c: running stages */
int chain_start(struct runq *, struct chain *, char **const argv[], int n,
    struct input *in, size_t nin);
int chain_reap(struct runq *, pid_t pid, int st);
int chain_done(const struct chain *);
void chain_kill_all(struct runq *);
int chain_policy(struct runq *, struct input *in, size_t n, const char *opt,
    const char *reason);

/* commit.c: what comes out goes back into the queue */
void commit_finish(struct runq *, struct chain *);
void commit_defer(struct runq *, struct input *in, size_t n, const char *reason);
int commit_held(struct runq *, struct input *in, size_t n);

#endif
