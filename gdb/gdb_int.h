/*
 * Internals of the gdb engine shared by its files: the session, packet
 * framing (gdb_packet.c) and the commands (gdb_stub.c).
 */
#ifndef RHYVE_GDB_INT_H
#define RHYVE_GDB_INT_H

#include "gdb.h"

/* Where the receiver is in "$payload#ck" (and outside packets). */
enum gdb_rx_state {
	GDB_RX_IDLE, /* between packets: acks, Ctrl-C */
	GDB_RX_DATA,
	GDB_RX_ESCAPE, /* after '}' */
	GDB_RX_RLE,    /* after '*': the repeat count */
	GDB_RX_CK1,
	GDB_RX_CK2,
};

/* A reply payload being built (before framing). */
#define GDB_REPLY_MAX (2 * GDB_PACKET_MAX + 64)

struct gdb_session {
	struct gdb_target target;
	gdb_send_fn send;
	void *sendarg;

	/* The receiver: the unescaped payload of the packet coming in. */
	enum gdb_rx_state rx;
	uint8_t pkt[GDB_PACKET_MAX + 1]; /* + NUL for the text commands */
	size_t len;
	bool overflow; /* more than GDB_PACKET_MAX bytes: rejected */
	uint8_t sum;   /* running checksum of the raw bytes */
	uint8_t ck;    /* the checksum the packet says */
	bool ckbad;    /* ... was not two hex digits */
	bool noack;    /* QStartNoAckMode */

	/* The reply being built, and the last one framed (for '-'). */
	char reply[GDB_REPLY_MAX];
	size_t rlen;
	bool rfull; /* the reply did not fit: sent as an error instead */
	uint8_t *wire;
	size_t wlen, wcap;

	int gthread, cthread; /* Hg and Hc (0: any, -1: all) */
	bool running;         /* resumed; a stop reply is owed */
	bool done;            /* detached or killed */
	bool phys;            /* monitor phys on */
	struct gdb_stop last; /* for '?' */
};

/* gdb_packet.c */
void gdb_packet_byte(struct gdb_session *s, uint8_t c);
/* Frame the reply in s->reply and send it. */
void gdb_send_reply(struct gdb_session *s);
/* Send a packet whose payload is 'text' now (O output, notifications). */
void gdb_send_packet(struct gdb_session *s, const char *text, size_t len);

/* gdb_stub.c: one complete, checked packet in s->pkt[0..len). */
void gdb_dispatch(struct gdb_session *s);

#endif
