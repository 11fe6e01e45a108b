/*
 * fidelity/helper.c: holds file descriptors across shell commands and prints
 * what each call on them returned, so that one fidelity script produces the
 * same transcript on real Linux (in the QEMU guest) and on devlife.
 *
 * Built static (gcc -O2 -static) by scripts/linux-vm for the guest and by
 * scripts/differential for the host; docs/fidelity.md describes its use.
 *
 * Commands are read from stdin, one per line ('#' starts a comment):
 *   open NAME PATH [nb]     open O_RDWR (nb: O_NONBLOCK) and keep it as NAME
 *   close NAME              close NAME's fd
 *   ioctl NAME REQ [ARG]    issue the ioctl REQ (see the table below)
 *   poll NAME [MS]          poll for IN|OUT|PRI, print revents (default 0 ms)
 *   read NAME BYTES         read up to BYTES, print ok n=COUNT or the errno
 *   mmap NAME INDEX         QUERYBUF then mmap buffer INDEX (MAP_SHARED)
 *   touch NAME INDEX        read the first byte of the mapped buffer INDEX
 *   munmap NAME INDEX       unmap buffer INDEX
 *   bg NAME OP [ARGS]       run a blocking ioctl/read/poll in a thread
 *   waitblocked             wait (at most 10 s) until that thread sleeps
 *   join                    wait for the thread and print its result
 *   race PATH REQ STOPFILE  open+REQ+close in a loop until STOPFILE exists;
 *                           print the set of results per call, then counts
 *   write PATH TEXT         open PATH write-only, write TEXT, close; print errno
 *   rmmod MODULE            delete_module(MODULE, O_NONBLOCK), as rmmod does
 *   sh CMD                  run CMD with /bin/sh, print its exit status
 *   echo TEXT               print TEXT
 * Every result line starts with the command and ends with `ok ...`,
 * `errno=NAME` or `revents=0xNN`, so transcripts compare line by line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/media.h>
#include <linux/v4l2-subdev.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 32
#define MAX_BUFS 16

struct held {
	char name[32];
	int fd;
	void *map[MAX_BUFS];
	size_t len[MAX_BUFS];
};

static struct held held[MAX_FDS];

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

static struct held *find(const char *name)
{
	for (int i = 0; i < MAX_FDS; i++)
		if (held[i].name[0] && strcmp(held[i].name, name) == 0)
			return &held[i];
	return NULL;
}

static struct held *slot(const char *name)
{
	struct held *h = find(name);
	if (h)
		return h;
	for (int i = 0; i < MAX_FDS; i++)
		if (!held[i].name[0]) {
			snprintf(held[i].name, sizeof(held[i].name), "%s", name);
			held[i].fd = -1;
			return &held[i];
		}
	fprintf(stderr, "helper: too many fds\n");
	exit(2);
}

/* One argument buffer large enough for every request below. */
union arg {
	struct v4l2_capability cap;
	struct v4l2_format fmt;
	struct v4l2_fmtdesc fmtdesc;
	struct v4l2_requestbuffers req;
	struct v4l2_buffer buf;
	struct v4l2_input input;
	struct v4l2_queryctrl qctrl;
	struct v4l2_control ctrl;
	struct v4l2_subdev_format sfmt;
	struct v4l2_subdev_mbus_code_enum mcode;
	struct v4l2_subdev_capability scap;
	struct v4l2_subdev_selection sel;
	struct media_device_info dinfo;
	struct media_entity_desc ent;
	struct media_v2_topology topo;
	struct media_link_desc link;
	int i;
	char raw[4096];
};

/*
 * Issue request NAME on fd with a fixed, valid argument (ARG: a number used
 * as the index, pad, buffer count or entity id where the request takes one).
 * Returns the ioctl's return value with errno set; fills `out` with a short
 * description of the answer on success.
 */
static int do_ioctl(int fd, const char *name, long arg, char *out, size_t outlen)
{
	union arg a;
	int r;
	memset(&a, 0, sizeof(a));
	out[0] = 0;
#define IS(s) (strcmp(name, s) == 0)
	if (IS("QUERYCAP")) {
		r = ioctl(fd, VIDIOC_QUERYCAP, &a.cap);
		if (r == 0)
			snprintf(out, outlen, " driver=%s caps=0x%08x", (char *)a.cap.driver, a.cap.device_caps);
	} else if (IS("G_FMT")) {
		a.fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		r = ioctl(fd, VIDIOC_G_FMT, &a.fmt);
		if (r == 0)
			snprintf(out, outlen, " %ux%u fourcc=%.4s", a.fmt.fmt.pix.width, a.fmt.fmt.pix.height,
				 (char *)&a.fmt.fmt.pix.pixelformat);
	} else if (IS("ENUM_FMT")) {
		a.fmtdesc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		a.fmtdesc.index = arg;
		r = ioctl(fd, VIDIOC_ENUM_FMT, &a.fmtdesc);
		if (r == 0)
			snprintf(out, outlen, " fourcc=%.4s", (char *)&a.fmtdesc.pixelformat);
	} else if (IS("G_INPUT")) {
		r = ioctl(fd, VIDIOC_G_INPUT, &a.i);
		if (r == 0)
			snprintf(out, outlen, " input=%d", a.i);
	} else if (IS("ENUMINPUT")) {
		a.input.index = arg;
		r = ioctl(fd, VIDIOC_ENUMINPUT, &a.input);
		if (r == 0)
			snprintf(out, outlen, " name=%s", (char *)a.input.name);
	} else if (IS("REQBUFS")) {
		a.req.count = arg;
		a.req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		a.req.memory = V4L2_MEMORY_MMAP;
		r = ioctl(fd, VIDIOC_REQBUFS, &a.req);
		if (r == 0)
			snprintf(out, outlen, " count=%u", a.req.count);
	} else if (IS("QUERYBUF") || IS("QBUF") || IS("DQBUF")) {
		a.buf.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		a.buf.memory = V4L2_MEMORY_MMAP;
		a.buf.index = arg;
		r = ioctl(fd, IS("QUERYBUF") ? VIDIOC_QUERYBUF : IS("QBUF") ? VIDIOC_QBUF : VIDIOC_DQBUF,
			  &a.buf);
		if (r == 0 && IS("DQBUF"))
			snprintf(out, outlen, " index=%u bytesused=%u", a.buf.index, a.buf.bytesused);
		else if (r == 0 && IS("QUERYBUF"))
			snprintf(out, outlen, " length=%u", a.buf.length);
	} else if (IS("STREAMON") || IS("STREAMOFF")) {
		a.i = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		r = ioctl(fd, IS("STREAMON") ? VIDIOC_STREAMON : VIDIOC_STREAMOFF, &a.i);
	} else if (IS("QUERYCTRL")) {
		a.qctrl.id = V4L2_CTRL_FLAG_NEXT_CTRL;
		r = ioctl(fd, VIDIOC_QUERYCTRL, &a.qctrl);
		if (r == 0)
			snprintf(out, outlen, " id=0x%08x", a.qctrl.id);
	} else if (IS("SUBDEV_QUERYCAP")) {
		r = ioctl(fd, VIDIOC_SUBDEV_QUERYCAP, &a.scap);
		if (r == 0)
			snprintf(out, outlen, " caps=0x%08x", a.scap.capabilities);
	} else if (IS("SUBDEV_G_FMT") || IS("SUBDEV_S_FMT")) {
		a.sfmt.which = V4L2_SUBDEV_FORMAT_ACTIVE;
		a.sfmt.pad = arg;
		r = ioctl(fd, VIDIOC_SUBDEV_G_FMT, &a.sfmt);
		if (r == 0 && IS("SUBDEV_S_FMT"))
			r = ioctl(fd, VIDIOC_SUBDEV_S_FMT, &a.sfmt);
		if (r == 0)
			snprintf(out, outlen, " %ux%u code=0x%04x", a.sfmt.format.width, a.sfmt.format.height,
				 a.sfmt.format.code);
	} else if (IS("SUBDEV_TRY_FMT")) {
		a.sfmt.which = V4L2_SUBDEV_FORMAT_TRY;
		a.sfmt.pad = arg;
		r = ioctl(fd, VIDIOC_SUBDEV_G_FMT, &a.sfmt);
		if (r == 0)
			snprintf(out, outlen, " %ux%u code=0x%04x", a.sfmt.format.width, a.sfmt.format.height,
				 a.sfmt.format.code);
	} else if (IS("SUBDEV_ENUM_MBUS_CODE")) {
		a.mcode.which = V4L2_SUBDEV_FORMAT_ACTIVE;
		a.mcode.pad = arg;
		r = ioctl(fd, VIDIOC_SUBDEV_ENUM_MBUS_CODE, &a.mcode);
		if (r == 0)
			snprintf(out, outlen, " code=0x%04x", a.mcode.code);
	} else if (IS("SUBDEV_G_SELECTION")) {
		a.sel.which = V4L2_SUBDEV_FORMAT_ACTIVE;
		a.sel.pad = arg;
		a.sel.target = V4L2_SEL_TGT_CROP;
		r = ioctl(fd, VIDIOC_SUBDEV_G_SELECTION, &a.sel);
		if (r == 0)
			snprintf(out, outlen, " %ux%u@%d,%d", a.sel.r.width, a.sel.r.height, a.sel.r.left,
				 a.sel.r.top);
	} else if (IS("DEVICE_INFO")) {
		r = ioctl(fd, MEDIA_IOC_DEVICE_INFO, &a.dinfo);
		if (r == 0)
			snprintf(out, outlen, " driver=%s model=%s", a.dinfo.driver, a.dinfo.model);
	} else if (IS("ENUM_ENTITIES")) {
		a.ent.id = arg | MEDIA_ENT_ID_FLAG_NEXT;
		r = ioctl(fd, MEDIA_IOC_ENUM_ENTITIES, &a.ent);
		if (r == 0)
			snprintf(out, outlen, " id=%u name=%s", a.ent.id, a.ent.name);
	} else if (IS("G_TOPOLOGY")) {
		r = ioctl(fd, MEDIA_IOC_G_TOPOLOGY, &a.topo);
		if (r == 0)
			snprintf(out, outlen, " entities=%u interfaces=%u pads=%u links=%u", a.topo.num_entities,
				 a.topo.num_interfaces, a.topo.num_pads, a.topo.num_links);
	} else {
		fprintf(stderr, "helper: unknown ioctl %s\n", name);
		exit(2);
	}
#undef IS
	return r;
}

static void result(const char *what, int r, int err, const char *extra)
{
	if (r < 0)
		printf("%s: errno=%s\n", what, errname(err));
	else
		printf("%s: ok%s\n", what, extra ? extra : "");
	fflush(stdout);
}

static const char *revents_str(short re, char *buf, size_t len)
{
	snprintf(buf, len, "revents=0x%02x", (unsigned)re & 0xffff);
	return buf;
}

/* Background blocking call. */
static pthread_t bg_thread;
static pid_t bg_tid;
static volatile int bg_started, bg_running;
static char bg_what[256], bg_out[512];

struct bg_job {
	char op[16];
	char req[64];
	long arg;
	int fd;
};
static struct bg_job job;

static void *bg_main(void *unused)
{
	(void)unused;
	char extra[256] = "";
	int r, err;
	bg_tid = syscall(SYS_gettid);
	__atomic_store_n(&bg_started, 1, __ATOMIC_SEQ_CST);
	if (strcmp(job.op, "ioctl") == 0) {
		r = do_ioctl(job.fd, job.req, job.arg, extra, sizeof(extra));
		err = errno;
	} else if (strcmp(job.op, "read") == 0) {
		static char buf[1 << 22];
		long n = job.arg > (long)sizeof(buf) ? (long)sizeof(buf) : job.arg;
		r = read(job.fd, buf, n);
		err = errno;
		if (r >= 0)
			snprintf(extra, sizeof(extra), " n=%d", r);
	} else {
		struct pollfd p = { .fd = job.fd, .events = POLLIN | POLLPRI };
		r = poll(&p, 1, (int)job.arg);
		err = errno;
		if (r >= 0) {
			char rb[32];
			snprintf(extra, sizeof(extra), " %s", revents_str(p.revents, rb, sizeof(rb)));
		}
	}
	if (r < 0)
		snprintf(bg_out, sizeof(bg_out), "join %s: errno=%s", bg_what, errname(err));
	else
		snprintf(bg_out, sizeof(bg_out), "join %s: ok%s", bg_what, extra);
	__atomic_store_n(&bg_running, 0, __ATOMIC_SEQ_CST);
	return NULL;
}

static char thread_state(pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return '?';
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] && p[2] ? p[2] : '?';
}

static sigjmp_buf touch_jmp;
static void on_sigbus(int sig)
{
	siglongjmp(touch_jmp, sig);
}

static void race(const char *path, const char *req, const char *stopfile)
{
	/* results[call][k]: names of the outcomes seen, with counts */
	static const char *calls[] = { "open", "ioctl", "close" };
	char seen[3][16][24];
	long count[3][16];
	int nseen[3] = { 0, 0, 0 };
	memset(count, 0, sizeof(count));
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long iter = 0;; iter++) {
		struct stat st;
		if ((iter & 15) == 0) {
			if (stat(stopfile, &st) == 0)
				break;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - start.tv_sec > 300) {
				printf("race %s: stop file never appeared\n", path);
				break;
			}
		}
		const char *res[3] = { NULL, NULL, NULL };
		char extra[256];
		int fd = open(path, O_RDWR);
		res[0] = fd < 0 ? errname(errno) : "ok";
		if (fd >= 0) {
			res[1] = do_ioctl(fd, req, 0, extra, sizeof(extra)) < 0 ? errname(errno) : "ok";
			res[2] = close(fd) < 0 ? errname(errno) : "ok";
		}
		for (int c = 0; c < 3; c++) {
			if (!res[c])
				continue;
			int k;
			for (k = 0; k < nseen[c]; k++)
				if (strcmp(seen[c][k], res[c]) == 0)
					break;
			if (k == nseen[c] && k < 16) {
				snprintf(seen[c][k], sizeof(seen[c][k]), "%s", res[c]);
				nseen[c]++;
			}
			if (k < 16)
				count[c][k]++;
		}
	}
	/* sorted sets first (compared), counts after (declared nondeterministic) */
	for (int c = 0; c < 3; c++) {
		for (int i = 0; i < nseen[c]; i++)
			for (int j = i + 1; j < nseen[c]; j++)
				if (strcmp(seen[c][i], seen[c][j]) > 0) {
					char t[24];
					long tc = count[c][i];
					memcpy(t, seen[c][i], 24);
					memcpy(seen[c][i], seen[c][j], 24);
					memcpy(seen[c][j], t, 24);
					count[c][i] = count[c][j];
					count[c][j] = tc;
				}
		printf("race %s %s:", path, calls[c]);
		for (int i = 0; i < nseen[c]; i++)
			printf(" %s", seen[c][i]);
		printf("\n");
	}
	for (int c = 0; c < 3; c++) {
		printf("race-counts %s %s:", path, calls[c]);
		for (int i = 0; i < nseen[c]; i++)
			printf(" %s=%ld", seen[c][i], count[c][i]);
		printf("\n");
	}
	fflush(stdout);
}

static int need(char **w, int n, int want, const char *usage)
{
	if (n < want) {
		fprintf(stderr, "helper: usage: %s\n", usage);
		exit(2);
	}
	(void)w;
	return 0;
}

/* A command still running after 30 s is reported and the helper exits: no script hangs on it. */
static char current[1024];
static void on_alarm(int sig)
{
	(void)sig;
	char msg[1200];
	int n = snprintf(msg, sizeof(msg), "%s: still blocked after 30 s\n", current);
	if (write(1, msg, n) < 0)
		_exit(4);
	_exit(3);
}

int main(void)
{
	char line[1024];
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	while (fgets(line, sizeof(line), stdin)) {
		alarm(0);
		char *w[8] = { NULL };
		int n = 0;
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		snprintf(current, sizeof(current), "%s", p);
		/* race and join bound themselves; the rest get 30 s */
		if (strncmp(p, "race ", 5) != 0 && strncmp(p, "join", 4) != 0 && strncmp(p, "sh ", 3) != 0)
			alarm(30);
		if (strncmp(p, "sh ", 3) == 0) {
			fflush(stdout);
			int st = system(p + 3);
			fflush(stdout);
			printf("sh %s: rc=%d\n", p + 3, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			continue;
		}
		if (strncmp(p, "write ", 6) == 0) {
			char *path = p + 6, *text = strchr(path, ' ');
			if (!text) {
				fprintf(stderr, "helper: usage: write PATH TEXT\n");
				exit(2);
			}
			*text++ = 0;
			int fd = open(path, O_WRONLY);
			int r = fd;
			if (fd >= 0) {
				r = write(fd, text, strlen(text));
				int err = errno;
				if (close(fd) < 0 && r >= 0)
					r = -1;
				else
					errno = err;
			}
			char w2[512];
			snprintf(w2, sizeof(w2), "write %s %s", path, text);
			result(w2, r, errno, NULL);
			continue;
		}
		if (strncmp(p, "rmmod ", 6) == 0) {
			char w2[512];
			int r = syscall(SYS_delete_module, p + 6, O_NONBLOCK);
			snprintf(w2, sizeof(w2), "rmmod %s", p + 6);
			result(w2, r, errno, NULL);
			continue;
		}
		if (strncmp(p, "echo ", 5) == 0) {
			printf("%s\n", p + 5);
			continue;
		}
		for (char *t = strtok(p, " \t"); t && n < 8; t = strtok(NULL, " \t"))
			w[n++] = t;
		if (n == 0)
			continue;
		char what[512], extra[256];
		if (strcmp(w[0], "open") == 0) {
			need(w, n, 3, "open NAME PATH [nb]");
			struct held *h = slot(w[1]);
			int flags = O_RDWR | (n > 3 && strcmp(w[3], "nb") == 0 ? O_NONBLOCK : 0);
			int fd = open(w[2], flags);
			snprintf(what, sizeof(what), "open %s %s", w[1], w[2]);
			result(what, fd, errno, NULL);
			if (fd >= 0) {
				if (h->fd >= 0)
					close(h->fd);
				h->fd = fd;
			}
		} else if (strcmp(w[0], "close") == 0) {
			need(w, n, 2, "close NAME");
			struct held *h = find(w[1]);
			int r = h ? close(h->fd) : -1;
			int err = h ? errno : EBADF;
			snprintf(what, sizeof(what), "close %s", w[1]);
			result(what, r, err, NULL);
			if (h)
				h->name[0] = 0;
		} else if (strcmp(w[0], "ioctl") == 0) {
			need(w, n, 3, "ioctl NAME REQ [ARG]");
			struct held *h = find(w[1]);
			long arg = n > 3 ? atol(w[3]) : 0;
			int r = do_ioctl(h ? h->fd : -1, w[2], arg, extra, sizeof(extra));
			snprintf(what, sizeof(what), "ioctl %s %s%s%s", w[1], w[2], n > 3 ? " " : "",
				 n > 3 ? w[3] : "");
			result(what, r, errno, extra);
		} else if (strcmp(w[0], "poll") == 0) {
			need(w, n, 2, "poll NAME [MS]");
			struct held *h = find(w[1]);
			struct pollfd pf = { .fd = h ? h->fd : -1, .events = POLLIN | POLLOUT | POLLPRI };
			int r = poll(&pf, 1, n > 2 ? atoi(w[2]) : 0);
			int err = errno;
			char rb[32];
			snprintf(what, sizeof(what), "poll %s", w[1]);
			snprintf(extra, sizeof(extra), " %s", revents_str(pf.revents, rb, sizeof(rb)));
			result(what, r, err, extra);
		} else if (strcmp(w[0], "read") == 0) {
			need(w, n, 3, "read NAME BYTES");
			struct held *h = find(w[1]);
			size_t want = atol(w[2]);
			char *buf = malloc(want ? want : 1);
			ssize_t r = read(h ? h->fd : -1, buf, want);
			int err = errno;
			free(buf);
			snprintf(what, sizeof(what), "read %s", w[1]);
			snprintf(extra, sizeof(extra), " n=%zd", r);
			result(what, (int)r, err, extra);
		} else if (strcmp(w[0], "mmap") == 0 || strcmp(w[0], "munmap") == 0 ||
			   strcmp(w[0], "touch") == 0) {
			need(w, n, 3, "mmap|touch|munmap NAME INDEX");
			struct held *h = find(w[1]);
			int i = atoi(w[2]);
			snprintf(what, sizeof(what), "%s %s %d", w[0], w[1], i);
			if (!h || i < 0 || i >= MAX_BUFS) {
				result(what, -1, EBADF, NULL);
				continue;
			}
			if (w[0][0] == 'm' && w[0][1] == 'm') {
				struct v4l2_buffer b;
				memset(&b, 0, sizeof(b));
				b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
				b.memory = V4L2_MEMORY_MMAP;
				b.index = i;
				if (ioctl(h->fd, VIDIOC_QUERYBUF, &b) < 0) {
					snprintf(what, sizeof(what), "mmap %s %d (QUERYBUF)", w[1], i);
					result(what, -1, errno, NULL);
					continue;
				}
				void *m = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd,
					       b.m.offset);
				if (m == MAP_FAILED) {
					result(what, -1, errno, NULL);
					continue;
				}
				h->map[i] = m;
				h->len[i] = b.length;
				result(what, 0, 0, NULL);
			} else if (w[0][0] == 'm') {
				int r = h->map[i] ? munmap(h->map[i], h->len[i]) : (errno = EINVAL, -1);
				result(what, r, errno, NULL);
				h->map[i] = NULL;
			} else {
				if (!h->map[i]) {
					result(what, -1, EINVAL, NULL);
					continue;
				}
				struct sigaction sa, old;
				memset(&sa, 0, sizeof(sa));
				sa.sa_handler = on_sigbus;
				sigaction(SIGBUS, &sa, &old);
				int sig = sigsetjmp(touch_jmp, 1);
				if (sig == 0) {
					volatile unsigned char c = ((volatile unsigned char *)h->map[i])[0];
					(void)c;
					result(what, 0, 0, NULL);
				} else {
					printf("%s: SIGBUS\n", what);
				}
				sigaction(SIGBUS, &old, NULL);
			}
		} else if (strcmp(w[0], "bg") == 0) {
			need(w, n, 3, "bg NAME ioctl REQ [ARG] | bg NAME read BYTES | bg NAME poll MS");
			struct held *h = find(w[1]);
			if (__atomic_load_n(&bg_running, __ATOMIC_SEQ_CST)) {
				fprintf(stderr, "helper: one background call at a time\n");
				exit(2);
			}
			memset(&job, 0, sizeof(job));
			job.fd = h ? h->fd : -1;
			snprintf(job.op, sizeof(job.op), "%s", w[2]);
			if (strcmp(w[2], "ioctl") == 0) {
				need(w, n, 4, "bg NAME ioctl REQ [ARG]");
				snprintf(job.req, sizeof(job.req), "%s", w[3]);
				job.arg = n > 4 ? atol(w[4]) : 0;
				snprintf(bg_what, sizeof(bg_what), "%s ioctl %s", w[1], w[3]);
			} else {
				need(w, n, 4, "bg NAME read|poll N");
				job.arg = atol(w[3]);
				snprintf(bg_what, sizeof(bg_what), "%s %s", w[1], w[2]);
			}
			bg_started = 0;
			bg_running = 1;
			pthread_create(&bg_thread, NULL, bg_main, NULL);
			printf("bg %s: started\n", bg_what);
		} else if (strcmp(w[0], "waitblocked") == 0) {
			struct timespec ts = { 0, 1000000 };
			char st = '?';
			int i;
			for (i = 0; i < 10000; i++) {
				if (__atomic_load_n(&bg_started, __ATOMIC_SEQ_CST)) {
					st = thread_state(bg_tid);
					if (st == 'S' || st == 'D' || !bg_running)
						break;
				}
				nanosleep(&ts, NULL);
			}
			if (!bg_running)
				printf("waitblocked: returned before blocking\n");
			else if (st == 'S' || st == 'D')
				printf("waitblocked: ok\n");
			else
				printf("waitblocked: timeout state=%c\n", st);
		} else if (strcmp(w[0], "join") == 0) {
			/* bounded: a call that never returns is reported, not waited for forever */
			struct timespec ts = { 0, 1000000 };
			int i;
			for (i = 0; i < 20000 && __atomic_load_n(&bg_running, __ATOMIC_SEQ_CST); i++)
				nanosleep(&ts, NULL);
			if (__atomic_load_n(&bg_running, __ATOMIC_SEQ_CST)) {
				printf("join %s: still blocked after 20 s (state=%c)\n", bg_what,
				       thread_state(bg_tid));
				fflush(stdout);
				_exit(3);
			}
			pthread_join(bg_thread, NULL);
			printf("%s\n", bg_out);
		} else if (strcmp(w[0], "race") == 0) {
			need(w, n, 4, "race PATH REQ STOPFILE");
			race(w[1], w[2], w[3]);
		} else {
			fprintf(stderr, "helper: unknown command %s\n", w[0]);
			exit(2);
		}
	}
	return 0;
}
