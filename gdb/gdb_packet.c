/*
 * Packet framing of the GDB remote serial protocol: "$payload#ck" with
 * '}' escapes (byte ^ 0x20) and '*' run-length encoding, '+'/'-' acks
 * until QStartNoAckMode, and Ctrl-C (0x03) between packets.  The
 * receiver takes one byte at a time, so any split of the stream works,
 * and never holds more than GDB_PACKET_MAX payload bytes: a longer
 * packet is read to its end and rejected.
 */
#include <stdlib.h>
#include <string.h>

#include "gdb_int.h"

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
send_raw(struct gdb_session *s, const void *buf, size_t len)
{
	s->send(s->sendarg, buf, len);
}

static void
put_payload_byte(struct gdb_session *s, uint8_t c)
{
	s->pkt[s->len < GDB_PACKET_MAX ? s->len : GDB_PACKET_MAX] = c;
	if (s->len < GDB_PACKET_MAX)
		s->len++;
	else
		s->overflow = true;
}

/* The packet is complete: ack or nak it and act on it. */
static void
packet_end(struct gdb_session *s)
{
	/*
	 * qSupported opens a connection: over a pty a new gdb can find the
	 * last one's session, which may be in no-ack mode.
	 */
	if (s->len >= 10 && memcmp(s->pkt, "qSupported", 10) == 0)
		s->noack = false;
	if (s->ckbad || s->sum != s->ck) {
		if (!s->noack)
			send_raw(s, "-", 1);
		return; /* gdb sends it again */
	}
	if (!s->noack)
		send_raw(s, "+", 1);
	if (s->overflow) {
		/* Too long for us: an error, as for any bad packet. */
		s->rlen = 0;
		memcpy(s->reply, "E22", 3);
		s->rlen = 3;
		gdb_send_reply(s);
		return;
	}
	s->pkt[s->len] = '\0';
	gdb_dispatch(s);
}

void
gdb_packet_byte(struct gdb_session *s, uint8_t c)
{
	int v;

	switch (s->rx) {
	case GDB_RX_IDLE:
		if (c == '$') {
			s->rx = GDB_RX_DATA;
			s->len = 0;
			s->sum = 0;
			s->overflow = false;
		} else if (c == 0x03) {
			/* Ctrl-C: only meaningful while the target runs. */
			if (s->running && s->target.ops->interrupt != NULL)
				s->target.ops->interrupt(s->target.arg);
		} else if (c == '-' && !s->noack && s->wlen > 0) {
			send_raw(s, s->wire, s->wlen);
		}
		/* '+' and noise between packets are ignored. */
		break;
	case GDB_RX_DATA:
		if (c == '#') {
			s->rx = GDB_RX_CK1;
			break;
		}
		s->sum += c;
		if (c == '$') {
			/* A new start: the previous packet was cut short. */
			s->len = 0;
			s->sum = 0;
			s->overflow = false;
		} else if (c == '}') {
			s->rx = GDB_RX_ESCAPE;
		} else if (c == '*' && s->len > 0) {
			s->rx = GDB_RX_RLE;
		} else {
			put_payload_byte(s, c);
		}
		break;
	case GDB_RX_ESCAPE:
		s->sum += c;
		put_payload_byte(s, c ^ 0x20);
		s->rx = GDB_RX_DATA;
		break;
	case GDB_RX_RLE:
		/* '*' then n: the previous byte n - 29 more times. */
		s->sum += c;
		if (c >= 29 + 3 && c <= 126) {
			uint8_t prev = s->pkt[s->len - 1];

			for (int i = 0; i < c - 29; i++)
				put_payload_byte(s, prev);
		} else {
			s->overflow = true; /* malformed: reject */
		}
		s->rx = GDB_RX_DATA;
		break;
	case GDB_RX_CK1:
		v = hexval(c);
		s->ckbad = v < 0;
		s->ck = (uint8_t)(v < 0 ? 0 : v << 4);
		s->rx = GDB_RX_CK2;
		break;
	case GDB_RX_CK2:
		v = hexval(c);
		s->ckbad |= v < 0;
		s->ck |= (uint8_t)(v < 0 ? 0 : v);
		s->rx = GDB_RX_IDLE;
		packet_end(s);
		break;
	}
}

static bool
wire_reserve(struct gdb_session *s, size_t need)
{
	uint8_t *n;

	if (need <= s->wcap)
		return true;
	n = realloc(s->wire, need);
	if (n == NULL)
		return false;
	s->wire = n;
	s->wcap = need;
	return true;
}

void
gdb_send_packet(struct gdb_session *s, const char *text, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t sum = 0;
	size_t w = 0;

	/* Worst case every byte escaped, plus "$", "#xx". */
	if (!wire_reserve(s, 2 * len + 4)) {
		s->wlen = 0;
		send_raw(s, "$E0c#a6", 7); /* ENOMEM */
		return;
	}
	s->wire[w++] = '$';
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)text[i];

		if (c == '$' || c == '#' || c == '}' || c == '*') {
			s->wire[w++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		s->wire[w++] = c;
		sum += c;
	}
	s->wire[w++] = '#';
	s->wire[w++] = hex[sum >> 4];
	s->wire[w++] = hex[sum & 15];
	s->wlen = w;
	send_raw(s, s->wire, w);
}

void
gdb_send_reply(struct gdb_session *s)
{
	if (s->rfull) {
		/* A reply that did not fit is an error, never a cut one. */
		memcpy(s->reply, "E0c", 3);
		s->rlen = 3;
	}
	gdb_send_packet(s, s->reply, s->rlen);
	s->rlen = 0;
	s->rfull = false;
}
