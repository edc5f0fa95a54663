#!/usr/bin/env python3
"""tests/corpus_figures.py DB: how much of the corpus tiketti reads as
Python's email package does. For every stored message its raw bytes are
parsed again with email.policy.default and three figures are printed:
the share whose Subject, whose text and whose attachment names equal
Python's (white space normalised). The text is taken the way tiketti
documents it: every inline text part in order, of an alternative the
first text/plain that has text else the HTML; HTML is compared as the
words of its text nodes (tiketti's "- " and " <url>" additions aside).
One line per figure: "NAME OK TOTAL PERCENT", then up to five examples
of each kind that differ, as comments."""
import email, email.policy, re, sqlite3, sys
from html.parser import HTMLParser


def norm(s):
    return " ".join((s or "").replace("\x00", " ").split())


class Words(HTMLParser):
    SKIP = {"script", "style", "head", "title", "noscript", "template",
            "object"}
    BLOCKS = {"p", "div", "br", "li", "ul", "ol", "table", "tr", "td", "th",
              "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr",
              "body", "html", "dl", "dt", "dd", "section", "article",
              "header", "footer", "address", "form", "center", "caption"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag in self.BLOCKS:
            self.out.append(" ")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        elif tag in self.BLOCKS:
            self.out.append(" ")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def html_words(h):
    p = Words()
    try:
        p.feed(h)
        p.close()
    except Exception:
        pass
    return norm("".join(p.out))


def content(part):
    try:
        return part.get_content()
    except Exception:
        raw = part.get_payload(decode=True) or b""
        return raw.decode(part.get_content_charset() or "utf-8", "replace")


def inline_text(part, sub):
    return (part.get_content_type() == "text/" + sub and
            part.get_content_disposition() != "attachment" and
            part.get_filename() is None)


def texts(part, out, html):
    """Appends (text, is_html) pieces of part to out."""
    if part.get_content_maintype() == "message":
        return      # an attached message is an attachment
    if part.is_multipart():
        kids = list(part.iter_parts())
        if part.get_content_subtype() == "alternative":
            for k in kids:
                if inline_text(k, "plain") and content(k).strip():
                    out.append((content(k), False))
                    return
            for k in kids:
                if any(inline_text(p, "html") for p in k.walk()):
                    texts(k, out, html)
                    return
            if kids:
                texts(kids[-1], out, html)
            return
        for k in kids:
            texts(k, out, html)
    elif inline_text(part, "plain"):
        out.append((content(part), False))
    elif inline_text(part, "html"):
        out.append((content(part), True))


def ours_as_words(t):
    t = re.sub(r" ?<(https?|mailto|ftp):[^>\s]*>", " ", t)
    t = re.sub(r"(?m)^- ", "", t)
    return norm(t)


def main():
    db = sqlite3.connect(sys.argv[1])
    rows = db.execute("SELECT m.id, m.subject, m.body, r.raw FROM messages m"
                      " JOIN raw_messages r ON r.message = m.id"
                      " WHERE m.direction = 'in' ORDER BY m.id").fetchall()
    figs = {"subjects": [0, 0, []], "text": [0, 0, []],
            "attachment_names": [0, 0, []]}
    for mid, subject, body, raw in rows:
        try:
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            ref_subject = str(msg["subject"] or "")
        except Exception:
            continue        # Python cannot read it either: no figure
        f = figs["subjects"]
        # Where Python could not decode (U+FFFD), it is no reference.
        f[1] += "\ufffd" not in ref_subject
        if "\ufffd" in ref_subject:
            pass
        elif norm(subject) == norm(ref_subject):
            f[0] += 1
        else:
            f[2].append((mid, subject, ref_subject))
        pieces = []
        try:
            texts(msg, pieces, False)
        except Exception:
            pieces = None
        if pieces is not None and not any("\ufffd" in t for t, _ in pieces):
            f = figs["text"]
            f[1] += 1
            if any(h for _, h in pieces):
                ref = norm(" ".join(html_words(t) if h else t
                                    for t, h in pieces))
                same = ours_as_words(body) == ref
            else:
                ref = norm(" ".join(t for t, _ in pieces))
                same = norm(body) == ref
            if same:
                f[0] += 1
            else:
                a = ours_as_words(body) if any(h for _, h in pieces) \
                    else norm(body)
                i = next((i for i, (x, y) in enumerate(zip(a, ref))
                          if x != y), min(len(a), len(ref)))
                f[2].append((mid, a[max(0, i - 30):i + 50],
                             ref[max(0, i - 30):i + 50]))
        try:
            names = [norm(p.get_filename()) for p in msg.walk()
                     if not p.is_multipart() and p.get_filename() and
                     p.get_content_maintype() != "message"]
        except Exception:
            continue
        if any(n.lower() == "winmail.dat" for n in names):
            continue        # tiketti opens it: its files are compared nowhere
        ours = [norm(n) for (n,) in db.execute(
            "SELECT name FROM attachments WHERE message = ? AND name IS NOT"
            " NULL AND type != 'message/rfc822' ORDER BY rowid", (mid,))]
        f = figs["attachment_names"]
        f[1] += 1
        if ours == names:
            f[0] += 1
        else:
            f[2].append((mid, ours, names))
    for name, (ok, total, bad) in figs.items():
        pct = 100.0 * ok / total if total else 100.0
        print("%s %d %d %.1f" % (name, ok, total, pct))
        for b in bad[:int(sys.argv[2]) if len(sys.argv) > 2 else 5]:
            print("#   message %d: tiketti %r / python %r" % b)


main()
