/*
 * NAME
 *	template.c — rendering mail templates.
 * DESCRIPTION
 *	templates_dir/NAME.LANG.txt or NAME.txt: "Name: value" header lines
 *	(Subject, Content-Language and X-* only; tiketti owns the others), a
 *	blank line, and the body. {{var}} placeholders are filled from the
 *	ticket. A value that lands in a header cannot add a header: control
 *	characters become spaces and non-ASCII is RFC 2047-encoded (by
 *	mime.c). The language comes from the customer's Content-Language or
 *	Accept-Language, reduced to [a-z0-9-] so it can never name another
 *	path. NAME[.LANG].html beside a text variant is its HTML
 *	alternative: a body only, with the values HTML-escaped.
 *	Stateless; thread-safe.
 * DIAGNOSTICS
 *	"FILE:LINE:COL: message" lines in the caller's buffer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tiketti/mime.h"
#include "tiketti/str.h"
#include "tiketti/template.h"

static const char *const var_names[] = {
	"ticket.id", "ticket.subject", "ticket.status", "ticket.priority",
	"ticket.category", "ticket.tag", "ticket.skill", "ticket.assignee",
	"ticket.due", "ticket.fields",
	"customer.name", "customer.address", "customer.history",
	"agent.name", "csat.1", "csat.2", "csat.3", "csat.4", "csat.5",
	"csat.web.1", "csat.web.2", "csat.web.3", "csat.web.4", "csat.web.5",
	"csat.links", "message.text", "message.new_text", NULL,
};

static int
var_known(const char *name)
{
	/* {{ticket.fields.NAME}}: empty when the ticket has none */
	if (strncmp(name, "ticket.fields.", 14) == 0 && name[14] != '\0')
		return 1;
	for (size_t i = 0; var_names[i]; i++)
		if (strcmp(var_names[i], name) == 0)
			return 1;
	return 0;
}

static void
var_value(const struct template_vars *v, const char *name, struct buf *out)
{
	const struct store_ticket *t = v->ticket;

	if (strcmp(name, "ticket.id") == 0)
		buf_printf(out, "%lld", (long long)t->id);
	else if (strcmp(name, "ticket.subject") == 0)
		buf_addstr(out, t->subject ? t->subject : "");
	else if (strcmp(name, "ticket.status") == 0)
		buf_addstr(out, t->status ? t->status : "");
	else if (strcmp(name, "ticket.priority") == 0)
		buf_addstr(out, t->priority ? t->priority : "");
	else if (strcmp(name, "ticket.category") == 0)
		buf_addstr(out, t->category ? t->category : "");
	else if (strcmp(name, "ticket.skill") == 0)
		buf_addstr(out, t->skill ? t->skill : "");
	else if (strcmp(name, "ticket.assignee") == 0)
		buf_addstr(out, t->assignee ? t->assignee : "");
	else if (strcmp(name, "customer.history") == 0)
		buf_addstr(out, v->history ? v->history : "");
	else if (strcmp(name, "ticket.fields") == 0) {
		for (size_t i = 0; i < t->nfields; i++)
			buf_printf(out, "%s: %s\n", t->fields[i].name,
			    t->fields[i].value);
		if (t->nfields == 0)
			buf_addstr(out, "(none)\n");
	} else if (strncmp(name, "ticket.fields.", 14) == 0) {
		const char *f = store_ticket_field(t, name + 14);

		buf_addstr(out, f ? f : "");
	} else if (strcmp(name, "ticket.due") == 0)
		buf_addstr(out, v->due ? v->due : "(none)\n");
	else if (strcmp(name, "ticket.tag") == 0)
		buf_printf(out, "[%s #%lld]", v->prefix, (long long)t->id);
	else if (strcmp(name, "customer.name") == 0)
		buf_addstr(out, t->requester_name && *t->requester_name ?
		    t->requester_name : t->requester ? t->requester : "");
	else if (strcmp(name, "customer.address") == 0)
		buf_addstr(out, t->requester ? t->requester : "");
	else if (strcmp(name, "agent.name") == 0)
		buf_addstr(out, v->agent ? v->agent : "");
	else if (strcmp(name, "message.text") == 0)
		buf_addstr(out, v->text ? v->text : "");
	else if (strcmp(name, "message.new_text") == 0)
		buf_addstr(out, v->new_text ? v->new_text : v->text ?
		    v->text : "");
	else if (strcmp(name, "csat.links") == 0) {
		for (int i = 5; i >= 1; i--) {
			if (v->csat[i - 1] == NULL)
				continue;
			buf_printf(out, "  %d  %s\n", i, v->csat[i - 1]);
			if (v->csat_web[i - 1])
				buf_printf(out, "     %s\n", v->csat_web[i - 1]);
		}
	} else if (strncmp(name, "csat.web.", 9) == 0) {
		const char *u = v->csat_web[name[9] - '1'];

		buf_addstr(out, u ? u : "");
	} else if (strncmp(name, "csat.", 5) == 0) {
		const char *u = v->csat[name[5] - '1'];

		buf_addstr(out, u ? u : "");
	}
}

/* Text made safe inside HTML elements and attribute values. */
static void
html_escape(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		switch (s[i]) {
		case '<': buf_addstr(out, "&lt;"); break;
		case '>': buf_addstr(out, "&gt;"); break;
		case '&': buf_addstr(out, "&amp;"); break;
		case '"': buf_addstr(out, "&quot;"); break;
		case '\'': buf_addstr(out, "&#39;"); break;
		default: buf_addc(out, s[i]);
		}
}

/* An RFC 5322 field name (printable ASCII, no space or colon) we let
 * templates set. */
static int
header_allowed(const char *name)
{
	for (const char *q = name; *q; q++)
		if ((unsigned char)*q < 33 || (unsigned char)*q > 126)
			return 0;
	return strcasecmp(name, "Subject") == 0 ||
	    strcasecmp(name, "Content-Language") == 0 ||
	    strncasecmp(name, "X-", 2) == 0;
}

static void
err_at(struct buf *err, const char *file, int line, int col, const char *msg,
    const char *what)
{
	buf_printf(err, "%s:%d:%d: %s", file, line, col, msg);
	if (what)
		buf_printf(err, " \"%s\"", what);
	buf_addc(err, '\n');
}

/*
 * Expands the placeholders of text[0..len) into out (v NULL: check
 * only), HTML-escaping the values when html is set. line and col are
 * where text starts in the file.
 */
static int
expand(const char *file, const char *text, size_t len, int line, int col,
    const struct template_vars *v, int html, struct buf *out,
    struct buf *err)
{
	const char *p = text, *end = text + len;
	int nerr = 0;

	while (p < end) {
		const char *open = NULL, *close;
		char *name;

		for (const char *q = p; q + 1 < end; q++)
			if (q[0] == '{' && q[1] == '{') {
				open = q;
				break;
			}
		if (open == NULL) {
			if (out)
				buf_add(out, p, (size_t)(end - p));
			break;
		}
		for (const char *q = p; q < open; q++)
			if (*q == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)*q & 0xc0) != 0x80)
				col++;
		if (out)
			buf_add(out, p, (size_t)(open - p));
		close = NULL;
		for (const char *q = open + 2; q + 1 < end && *q != '\n'; q++)
			if (q[0] == '}' && q[1] == '}') {
				close = q;
				break;
			}
		if (close == NULL) {
			err_at(err, file, line, col, "unclosed \"{{\"", NULL);
			return nerr + 1;
		}
		name = str_trim(xstrndup(open + 2, (size_t)(close - open - 2)));
		if (!var_known(name)) {
			err_at(err, file, line, col, "unknown placeholder", name);
			nerr++;
		} else if (out && v && html) {
			struct buf val;

			buf_init(&val, 0);
			var_value(v, name, &val);
			html_escape(out, val.data ? val.data : "", val.len);
			buf_free(&val);
		} else if (out && v)
			var_value(v, name, out);
		free(name);
		col += (int)(close + 2 - open);
		p = close + 2;
	}
	return nerr;
}

static int render_html(const char *txtpath, const struct template_vars *v,
    char **html, struct buf *err);

/* Reads a file whole; NULL (with errno) when it cannot. */
static char *
slurp(const char *path, size_t *len)
{
	struct buf b;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return NULL;
	buf_init(&b, TEMPLATE_MAX_FILE);
	if (buf_read_fd(&b, fd) != TK_OK) {
		close(fd);
		buf_free(&b);
		errno = EFBIG;
		return NULL;
	}
	close(fd);
	*len = b.len;
	return buf_release(&b);
}

/*
 * Parses and (with v) renders one template file. Returns the number of
 * errors found.
 */
static int
render_file(const char *path, const char *text, size_t len,
    const struct template_vars *v, struct template_out *out, struct buf *err)
{
	const char *p = text, *end = text + len;
	struct buf hdrs, val;
	int line = 1, nerr = 0;

	buf_init(&hdrs, 0);
	buf_init(&val, 0);
	if (memchr(text, '\0', len) != NULL) {
		err_at(err, path, 1, 1, "NUL byte in template", NULL);
		return 1;
	}
	for (;;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
		const char *colon = memchr(p, ':', n), *vs;
		char *name;

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (p >= end || n == 0)
			break;
		if (colon == NULL || colon == p || strcspn(p, " \t:") <
		    (size_t)(colon - p)) {
			err_at(err, path, line, 1, eol ? "expected \"Name: "
			    "value\" or a blank line before the body" :
			    "no blank line between headers and body", NULL);
			nerr++;
			break;
		}
		name = xstrndup(p, (size_t)(colon - p));
		vs = colon + 1;
		while (vs < p + n && (*vs == ' ' || *vs == '\t'))
			vs++;
		if (!header_allowed(name)) {
			err_at(err, path, line, 1, "header not allowed in a "
			    "template (Subject, Content-Language and X-* are)",
			    name);
			nerr++;
		}
		buf_reset(&val);
		nerr += expand(path, vs, (size_t)(p + n - vs), line,
		    (int)(vs - p) + 1, v, 0, out ? &val : NULL, err);
		if (out && nerr == 0) {
			char *one = str_oneline(xstrdup(val.data ? val.data : ""));

			for (char *q = one; *q; q++)
				if ((unsigned char)*q < 0x20 || *q == 0x7f)
					*q = ' ';
			if (strcasecmp(name, "Subject") == 0) {
				free(out->subject);
				out->subject = one;
			} else {
				char *enc = mime_header_encode(one);

				buf_printf(&hdrs, "%s: %s\n", name, enc);
				free(enc);
				free(one);
			}
		}
		free(name);
		line++;
		if (eol == NULL) {
			p = end;
			break;
		}
		p = eol + 1;
	}
	if (p < end) {	/* the blank line */
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		p = eol ? eol + 1 : end;
		line++;
	}
	buf_reset(&val);
	nerr += expand(path, p, (size_t)(end - p), line, 1, v, 0,
	    out ? &val : NULL, err);
	if (out && nerr == 0) {
		out->headers = buf_release(&hdrs);
		out->body = buf_release(&val);
	}
	buf_free(&hdrs);
	buf_free(&val);
	return nerr;
}

/* The next language tag of a Content-Language/Accept-Language list,
 * lower case and only [a-z0-9-]; NULL at the end. */
static char *
next_lang(const char **p)
{
	while (**p) {
		size_t len = strcspn(*p, ",");
		char *tag = xstrndup(*p, len);

		*p += len + ((*p)[len] == ',');
		tag[strcspn(tag, ";")] = '\0';
		str_lower(str_trim(tag));
		if (*tag && *tag != '*' && strspn(tag,
		    "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(tag))
			return tag;
		free(tag);
	}
	return NULL;
}

void
template_out_clear(struct template_out *out)
{
	free(out->file);
	free(out->subject);
	free(out->headers);
	free(out->body);
	free(out->html);
	memset(out, 0, sizeof(*out));
}

/* Opens the best variant; sets *path (caller frees). */
static char *
find_variant(const char *dir, const char *name, const char *langs,
    char **path, size_t *len)
{
	const char *p = langs ? langs : "";
	char *tag, *text;

	while ((tag = next_lang(&p)) != NULL) {
		for (int pass = 0; pass < 2; pass++) {
			if (pass == 1) {
				if (strchr(tag, '-') == NULL)
					break;
				tag[strcspn(tag, "-")] = '\0';
			}
			*path = xasprintf("%s/%s.%s.txt", dir, name, tag);
			if ((text = slurp(*path, len)) != NULL) {
				free(tag);
				return text;
			}
			free(*path);
		}
		free(tag);
	}
	*path = xasprintf("%s/%s.txt", dir, name);
	if ((text = slurp(*path, len)) != NULL)
		return text;
	free(*path);
	*path = NULL;
	return NULL;
}

enum tk_status
template_render(const char *dir, const char *name, const char *langs,
    const struct template_vars *v, struct template_out *out, struct buf *err)
{
	char *path, *text;
	size_t len;
	int nerr;

	memset(out, 0, sizeof(*out));
	if ((text = find_variant(dir, name, langs, &path, &len)) == NULL) {
		buf_printf(err, "%s/%s.txt: no such template\n", dir, name);
		return TK_EPERM;
	}
	nerr = render_file(path, text, len, v, out, err);
	free(text);
	if (nerr == 0)
		nerr = render_html(path, v, &out->html, err);
	if (nerr) {
		free(path);
		template_out_clear(out);
		return TK_EPARSE;
	}
	out->file = path;
	return TK_OK;
}

/*
 * The HTML alternative beside a text variant (NAME[.LANG].html): a body
 * only, its placeholders HTML-escaped. *html stays NULL without one.
 * Returns the number of errors.
 */
static int
render_html(const char *txtpath, const struct template_vars *v, char **html,
    struct buf *err)
{
	char *path = xasprintf("%.*s.html", (int)(strlen(txtpath) - 4), txtpath);
	struct buf out;
	size_t len;
	char *text = slurp(path, &len);
	int nerr;

	if (text == NULL) {
		free(path);
		return 0;
	}
	buf_init(&out, 0);
	if (memchr(text, '\0', len) != NULL) {
		err_at(err, path, 1, 1, "NUL byte in template", NULL);
		nerr = 1;
	} else
		nerr = expand(path, text, len, 1, 1, v, 1, v ? &out : NULL, err);
	if (nerr == 0 && v && html)
		*html = buf_release(&out);
	buf_free(&out);
	free(text);
	free(path);
	return nerr;
}

/* NAME.txt or NAME.LANG.txt */
static int
is_variant(const char *file, const char *name)
{
	size_t n = strlen(name), len = strlen(file);
	const char *mid;

	if (strncmp(file, name, n) != 0 || len < n + 4 ||
	    strcmp(file + len - 4, ".txt") != 0)
		return 0;
	if (len == n + 4)
		return 1;
	mid = file + n;
	return *mid == '.' && len > n + 5 &&
	    memchr(mid + 1, '.', len - n - 5) == NULL;
}

enum tk_status
template_check(const char *dir, const char *name, struct buf *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int nfound = 0, nerr = 0;

	if (d == NULL) {
		buf_printf(err, "%s: %s\n", dir, strerror(errno));
		return TK_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		char *path, *text;
		size_t len;

		if (!is_variant(de->d_name, name))
			continue;
		nfound++;
		path = xasprintf("%s/%s", dir, de->d_name);
		if ((text = slurp(path, &len)) == NULL) {
			buf_printf(err, "%s:0:0: %s\n", path, strerror(errno));
			nerr++;
		} else {
			nerr += render_file(path, text, len, NULL, NULL, err);
			nerr += render_html(path, NULL, NULL, err);
		}
		free(text);
		free(path);
	}
	closedir(d);
	if (nfound == 0) {
		buf_printf(err, "%s/%s.txt: no such template\n", dir, name);
		return TK_EPERM;
	}
	return nerr ? TK_EPARSE : TK_OK;
}
