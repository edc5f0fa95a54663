/*
 * NAME
 *	html.c — HTML mail as readable text (libxml2's HTML parser).
 * DESCRIPTION
 *	The only module that includes libxml2. htmlReadMemory reads any
 *	HTML a mail program writes (broken or not, every entity, no network
 *	access, no DTD added); the tree is walked into text: blocks and <br>
 *	as line breaks, list items as "- " lines, links as "text <url>",
 *	tables row by row; script, style and head are not text. The same
 *	walk finds the text nodes the first lines of text came from, so the
 *	milter can empty them and keep the markup (html_cut_lead). Input and
 *	nodes are capped. libxml2 is initialised once per process; each call
 *	has its own document and is thread-safe.
 * DIAGNOSTICS
 *	TK_ELIMIT when a cap cut the walk short; nothing is logged.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>

#include "tiketti/html.h"
#include "tiketti/str.h"

static pthread_once_t html_once = PTHREAD_ONCE_INIT;

static void
html_init_once(void)
{
	xmlInitParser();
}

/* A text node and where its text went in the readable text. */
struct seg {
	xmlNodePtr	 node;
	size_t		 vis, vislen;
	int		 same;		/* its content went out unchanged */
};

struct walk {
	struct buf	*out;
	size_t		 nodes;
	int		 over;
	struct seg	*segs;		/* with html_cut_lead only */
	size_t		 nsegs;
	int		 want_segs;
};

static int
name_in(const char *name, const char *const *set)
{
	for (; *set; set++)
		if (strcasecmp(name, *set) == 0)
			return 1;
	return 0;
}

static const char *const skipped[] = {
	"script", "style", "head", "title", "noscript", "template", "object",
	NULL
};
static const char *const blocks[] = {
	"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li",
	"table", "tr", "blockquote", "pre", "section", "article", "header",
	"footer", "address", "hr", "dl", "dt", "dd", "form", "fieldset",
	"center", "nav", "aside", "main", "figure", "figcaption", "caption",
	"thead", "tbody", "tfoot", "details", "summary", "body", "html",
	NULL
};
/* Blocks with an empty line after them: paragraphs, not lines. */
static const char *const paragraphs[] = {
	"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table",
	"blockquote", "pre", NULL
};

static int
at_line_start(const struct buf *b)
{
	return b->len == 0 || b->data[b->len - 1] == '\n';
}

/* Ends the line unless it is ended; with blank, leaves an empty line. */
static void
newline(struct walk *w, int blank)
{
	struct buf *b = w->out;

	if (b->len == 0)
		return;
	/* no white space at the end of a line */
	while (b->len > 0 && (b->data[b->len - 1] == ' ' ||
	    b->data[b->len - 1] == '\t'))
		b->data[--b->len] = '\0';
	if (!at_line_start(b))
		buf_addc(b, '\n');
	if (blank && (b->len < 2 || b->data[b->len - 2] != '\n'))
		buf_addc(b, '\n');
}

/* A text node: white space runs as one space (but in <pre>). */
static void
text(struct walk *w, xmlNodePtr n, int pre)
{
	const char *t = (const char *)n->content;
	struct buf *b = w->out;
	struct seg sg = { n, b->len, 0, 1 };

	if (t == NULL)
		return;
	for (; *t; t++) {
		unsigned char c = (unsigned char)*t;
		int space = c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		    c == '\f';

		if (c == 0xc2 && (unsigned char)t[1] == 0xa0) {	/* nbsp */
			t++;
			space = 1;
			sg.same = 0;
		}
		if (pre || !space) {
			if (c == '\r') {
				sg.same = 0;
				continue;
			}
			/* a no-break space is a space; the rest as it is */
			buf_addc(b, space && c != '\n' && c != '\t' ? ' ' : *t);
			continue;
		}
		if (at_line_start(b) || b->data[b->len - 1] == ' ' ||
		    b->data[b->len - 1] == '\t') {
			sg.same = 0;	/* a space that collapsed */
			continue;
		}
		if (c != ' ')
			sg.same = 0;
		buf_addc(b, ' ');
	}
	sg.vislen = b->len - sg.vis;
	if (w->want_segs && sg.vislen) {
		w->segs = xreallocarray(w->segs, w->nsegs + 1, sizeof(*w->segs));
		w->segs[w->nsegs++] = sg;
	}
}

static void walk(struct walk *w, xmlNodePtr n, int pre);

/* An element: its text with what its kind adds around it. */
static void
element(struct walk *w, xmlNodePtr n, int pre)
{
	const char *name = (const char *)n->name;
	int block = name_in(name, blocks);
	size_t before;

	if (name_in(name, skipped))
		return;
	if (strcasecmp(name, "br") == 0) {	/* each one a line end */
		struct buf *b = w->out;

		while (b->len > 0 && (b->data[b->len - 1] == ' ' ||
		    b->data[b->len - 1] == '\t'))
			b->data[--b->len] = '\0';
		buf_addc(b, '\n');
		return;
	}
	if (block)
		newline(w, 0);
	if (strcasecmp(name, "li") == 0)
		buf_addstr(w->out, "- ");
	if ((strcasecmp(name, "td") == 0 || strcasecmp(name, "th") == 0) &&
	    !at_line_start(w->out))
		buf_addc(w->out, '\t');
	before = w->out->len;
	walk(w, n->children, pre || strcasecmp(name, "pre") == 0);
	if (strcasecmp(name, "a") == 0) {
		xmlChar *href = xmlGetProp(n, (const xmlChar *)"href");
		const char *h = (const char *)href;
		size_t tl = w->out->len - before;
		const char *t = w->out->data ? w->out->data + before : "";

		if (h && *h && *h != '#' && strncasecmp(h, "javascript:", 11) &&
		    !(tl == strlen(h) && strncmp(t, h, tl) == 0) &&
		    !(strncasecmp(h, "mailto:", 7) == 0 &&
		    tl == strlen(h + 7) && strncmp(t, h + 7, tl) == 0)) {
			if (tl)
				buf_addc(w->out, ' ');
			buf_printf(w->out, "<%s>", h);
		}
		xmlFree(href);
	}
	if (block)
		newline(w, name_in(name, paragraphs));
}

static void
walk(struct walk *w, xmlNodePtr n, int pre)
{
	for (; n && !w->over; n = n->next) {
		if (++w->nodes > HTML_MAX_NODES) {
			w->over = 1;
			return;
		}
		if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE)
			text(w, n, pre);
		else if (n->type == XML_ELEMENT_NODE)
			element(w, n, pre);
	}
}

static htmlDocPtr
parse(const char *html, size_t len, int *over)
{
	pthread_once(&html_once, html_init_once);
	*over = len > HTML_MAX_INPUT;
	if (*over)
		len = HTML_MAX_INPUT;
	return htmlReadMemory(html, (int)len, NULL, "UTF-8",
	    HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR |
	    HTML_PARSE_NOWARNING | HTML_PARSE_NODEFDTD | HTML_PARSE_NOIMPLIED);
}

/* The walk of a whole document, with the text tidied at its ends. */
static void
walk_doc(struct walk *w, htmlDocPtr doc)
{
	struct buf *b = w->out;

	if (doc)
		walk(w, doc->children, 0);
	while (b->len > 0 && (b->data[b->len - 1] == '\n' ||
	    b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '\t'))
		b->data[--b->len] = '\0';
	if (b->len)
		buf_addc(b, '\n');
}

enum tk_status
html_to_text(const char *html, size_t len, struct buf *out)
{
	struct walk w = { .out = out };
	htmlDocPtr doc;
	int over;

	size_t from = out->len;

	doc = parse(html, len, &over);
	walk_doc(&w, doc);
	if (doc)
		xmlFreeDoc(doc);
	/* libxml2 passes bytes that are not UTF-8 through as they are */
	if (out->len > from && !str_utf8_valid(out->data + from,
	    out->len - from)) {
		char *fixed = str_utf8_repair(out->data + from, out->len - from);

		out->len = from;
		out->data[from] = '\0';
		buf_addstr(out, fixed);
		free(fixed);
	}
	return over || w.over ? TK_ELIMIT : TK_OK;
}

char *
html_cut_lead(const char *html, size_t len, size_t (*lead)(const char *text))
{
	struct buf vis;
	struct walk w = { .out = &vis, .want_segs = 1 };
	htmlDocPtr doc;
	xmlChar *mem = NULL;
	char *res = NULL;
	size_t cut;
	int over, size = 0, changed = 0;

	buf_init(&vis, 0);
	if ((doc = parse(html, len, &over)) == NULL || over)
		goto done;
	walk_doc(&w, doc);
	if (w.over || (cut = lead(vis.data ? vis.data : "")) == 0)
		goto done;
	for (size_t i = 0; i < w.nsegs && w.segs[i].vis < cut; i++) {
		const struct seg *sg = &w.segs[i];

		if (sg->vis + sg->vislen <= cut)
			xmlNodeSetContent(sg->node, (const xmlChar *)"");
		else if (sg->same) {	/* the cut falls inside: its rest */
			xmlChar *rest = xmlStrdup(sg->node->content +
			    (cut - sg->vis));

			xmlNodeSetContent(sg->node, rest);
			xmlFree(rest);
		} else
			continue;
		changed = 1;
	}
	if (!changed)
		goto done;
	htmlDocDumpMemoryFormat(doc, &mem, &size, 0);
	if (mem)
		res = xstrndup((const char *)mem, (size_t)size);
done:
	xmlFree(mem);
	if (doc)
		xmlFreeDoc(doc);
	free(w.segs);
	buf_free(&vis);
	return res;
}
