"""The sanitizer's rules, as data: what HTML may stay, which attributes carry URLs, what counts as a tracker.

Owns: the allowlists and tables that mirror/sanitize.py, sanitize_css.py and links.py apply. Holds no
logic; change a rule here, not in the code that applies it. Never imports the audit (it is the
independent judge of what these rules produce).
"""

from __future__ import annotations

import re

# Elements kept in a page body. Everything else is unwrapped (its text stays) unless listed in
# DROP_WITH_CONTENT, whose content goes too.
ALLOWED_TAGS = frozenset(
    """
    a abbr address article aside b bdi bdo blockquote br caption center cite code col colgroup dd del
    details dfn div dl dt em figcaption figure footer h1 h2 h3 h4 h5 h6 header hgroup hr i img ins kbd
    li main mark nav ol p picture pre q rp rt ruby s samp section small source span strong sub summary
    sup table tbody td tfoot th thead time tr tt u ul var wbr audio video
    math mi mn mo ms mtext mrow msup msub msubsup mfrac msqrt mroot mover munder munderover mtable mtr
    mtd mspace mpadded mphantom menclose mstyle merror mmultiscripts mprescripts none semantics
""".split()
)

# Elements removed together with their content: script and what only works with script, embedded
# documents, inputs and lists a reader never sees, inline SVG, TeX sources of formulas. (A form's
# <select>, <option>, <button> and <textarea> are unwrapped instead: their words stay as inert text.)
DROP_WITH_CONTENT = frozenset(
    """
    script style template iframe frame frameset object embed applet noembed noframes datalist
    input svg canvas map area portal dialog slot head title meta link base param track annotation
    annotation-xml maction
""".split()
)

GLOBAL_ATTRS = frozenset({"id", "class", "title", "lang", "dir", "hidden", "role", "translate"})
TAG_ATTRS = {
    "a": {"href", "hreflang", "name"},
    "img": {"src", "srcset", "sizes", "alt", "width", "height"},
    "source": {"src", "srcset", "sizes", "media", "type"},
    "video": {"src", "poster", "controls", "width", "height", "preload"},
    "audio": {"src", "controls", "preload"},
    "ol": {"start", "reversed", "type"},
    "ul": {"type"},
    "li": {"value"},
    "td": {"colspan", "rowspan", "headers", "align", "valign"},
    "th": {"colspan", "rowspan", "headers", "scope", "abbr", "align", "valign"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "table": {"summary"},
    "time": {"datetime"},
    "del": {"datetime"},
    "ins": {"datetime"},
    "details": {"open"},
    "bdo": {"dir"},
    "div": {"align"},
    "p": {"align"},
    "math": {"display"},
    "mfrac": {"linethickness"},
    "mo": {"stretchy", "fence", "separator", "lspace", "rspace", "accent"},
    "mtd": {"columnspan", "rowspan"},
    "mstyle": {"displaystyle", "scriptlevel"},
    "mover": {"accent"},
    "munder": {"accentunder"},
    "menclose": {"notation"},
}
GLOBAL_MATH_ATTRS = frozenset({"mathvariant"})
# Unwrapped form controls whose words would run together without a space around them.
SPACED_UNWRAP = frozenset({"option", "optgroup", "button", "textarea", "select"})

# Attributes whose value is a URL the browser loads without a click, by element. Only local files
# may stay in them. Hyperlinks (a[href]) follow --external-links instead.
LOAD_ATTRS = {
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
}
# Lazy-loading attributes promoted to the real one when the real one is missing or a placeholder.
LAZY_ATTRS = {
    "src": ("data-src", "data-lazy-src", "data-original", "data-url", "data-hi-res-src"),
    "srcset": ("data-srcset", "data-lazy-srcset"),
}
PLACEHOLDER = re.compile(
    r"^\s*(data:|about:blank|#|$)|(blank|spacer|pixel|placeholder|transparent|"
    r"lazy|grey|gray|loading)[^/]*\.(gif|png|svg|jpg)",
    re.I,
)

URL_SCHEMES = frozenset({"http", "https", "mailto"})  # a[href] after sanitizing; no data:, no javascript:
LINK_REL = "noopener noreferrer"

# <link rel=...> in the head that survive (when local); everything else is dropped.
HEAD_LINK_KEEP = frozenset({"stylesheet", "icon", "shortcut icon"})
HEAD_LINK_KIND = {
    "manifest": "manifest",
    "preload": "prefetch/preload",
    "prefetch": "prefetch/preload",
    "dns-prefetch": "prefetch/preload",
    "preconnect": "prefetch/preload",
    "modulepreload": "script",
    "prerender": "prefetch/preload",
}

# Hosts whose loads are trackers (anything remote is dropped anyway; these are counted as trackers).
TRACKER_HOSTS = (
    "google-analytics.com",
    "googletagmanager.com",
    "doubleclick.net",
    "googlesyndication.com",
    "googleadservices.com",
    "facebook.com/tr",
    "facebook.net",
    "connect.facebook.net",
    "scorecardresearch.com",
    "quantserve.com",
    "chartbeat.com",
    "chartbeat.net",
    "newrelic.com",
    "nr-data.net",
    "hotjar.com",
    "mixpanel.com",
    "segment.io",
    "segment.com",
    "omtrdc.net",
    "2o7.net",
    "demdex.net",
    "krxd.net",
    "adnxs.com",
    "taboola.com",
    "outbrain.com",
    "pixel.",
    "analytics.",
    "stats.",
    "tracking.",
    "piwik",
    "matomo",
    "mc.yandex.ru",
    "bat.bing.com",
    "ads.",
    "amazon-adsystem.com",
    "criteo",
    "parsely.com",
    "wp.com/i/",
    "pixel.wp.com",
    "stats.wp.com",
    "quantcount",
    "imrworldwide.com",
)

# Query parameters that only track the reader; stripped from every kept URL.
TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|gclsrc|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|yclid|_ga|_gl|igshid|"
    r"_hsenc|_hsmi|mkt_tok|oly_anon_id|oly_enc_id|vero_id|wickedid|twclid|s_cid|ref_src|ref_url|"
    r"soc_src|soc_trk|__s|ncid|cmpid|icid)$",
    re.I,
)

# Redirect wrappers: (host, path) -> the query parameter holding the real destination.
REDIRECT_WRAPPERS = {
    ("www.google.com", "/url"): ("q", "url"),
    ("google.com", "/url"): ("q", "url"),
    ("l.facebook.com", "/l.php"): ("u",),
    ("lm.facebook.com", "/l.php"): ("u",),
    ("l.instagram.com", "/"): ("u",),
    ("www.youtube.com", "/redirect"): ("q",),
    ("out.reddit.com", "/"): ("url",),
    ("slack-redir.net", "/link"): ("url",),
    ("t.umblr.com", "/redirect"): ("z",),
    ("exit.sc", "/"): ("url",),
    ("www.linkedin.com", "/redir/redirect"): ("url",),
    ("steamcommunity.com", "/linkfilter/"): ("url",),
    ("away.vk.com", "/away.php"): ("to",),
    ("href.li", "/"): (),
}

# Encoding labels a browser reads as a wider encoding (WHATWG Encoding Standard) -> Python codec.
ENCODING_ALIASES = {
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "x-gbk": "gb18030",
    "gbk": "gb18030",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "big5": "big5hkscs",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "iso8859-1": "cp1252",
    "windows-874": "cp874",
}

# Meta tags kept in the rebuilt head (by name); generator and verification tags are never kept.
META_KEEP = frozenset({"description", "viewport", "color-scheme"})

# CSS: properties that run code or load outside url() in some engine; dropped wherever they appear.
CSS_DROP_PROPERTIES = frozenset({"behavior", "-moz-binding", "-ms-behavior"})
CSS_DROP_FUNCTIONS = frozenset({"expression", "-moz-element", "element", "paint"})
CSS_URL_FUNCTIONS = frozenset(
    {"url", "src", "image", "image-set", "-webkit-image-set", "cross-fade", "-webkit-cross-fade"}
)
CSS_DROP_AT_RULES = frozenset({"document", "-moz-document", "charset", "property"})
GENERIC_FONTS = frozenset(
    {
        "serif",
        "sans-serif",
        "monospace",
        "cursive",
        "fantasy",
        "system-ui",
        "math",
        "emoji",
        "fangsong",
        "ui-serif",
        "ui-sans-serif",
        "ui-monospace",
        "ui-rounded",
        "inherit",
        "initial",
        "unset",
        "revert",
        "revert-layer",
    }
)
FALLBACK_FONT = "sans-serif"
# A rule hiding the whole page only makes sense beside the script that removes it (anti-flicker
# snippets of A/B testing and analytics); without script it would hide the page for good.
CSS_PAGE_SELECTORS = frozenset({"body", "html", ".async-hide", "html.async-hide", "body.async-hide"})
CSS_HIDING = frozenset({("visibility", "hidden"), ("opacity", "0"), ("display", "none")})
# What a stylesheet needs to load or run anything (url() in any spelling: escapes need a backslash;
# strings load only in @import and these functions), or to hide the page for good, and whatever else
# the walk drops or rewrites. A top-level rule without any of these is kept as written, unparsed; the
# others go through the tinycss2 walk. All are looked for in ASCII-lowercased text.
CSS_RISKY_WORDS = (
    "url(", "@import", "@font-face", "image(", "image-set(", "cross-fade(", "src(", "expression", "behavior",
    "binding", "</", "element(", "paint(", "@charset", "@property", "document",
)  # fmt: skip
CSS_NAME_CHAR = r"[^\x00-\x2c./:-@[-^`{-\x7f]"  # a letter, digit, "_", "-" or any non-ASCII character
# Function names the walk drops (not -?-?[a-z][a-z0-9-]*): with "_", a non-ASCII letter or odd dashes.
CSS_ODD_FUNCTIONS = (
    re.compile(rf"_{CSS_NAME_CHAR}*\("),
    re.compile(rf"--(?:[-\d]{CSS_NAME_CHAR}*)?\("),
    re.compile(rf"[^\x00-\x7f]{CSS_NAME_CHAR}*\("),
)
# Any rule for the page itself: the walk drops those that hide it (CSS_PAGE_SELECTORS, CSS_HIDING).
CSS_PAGE_NAMES = ("body", "html", "async-hide")
CSS_OPENS_RULE = re.compile(r"(?:\s|/\*.*?\*/)*\{", re.S)

# The Content-Security-Policy every page carries (style hashes are appended per page). data: images are
# for the icon alone (<link rel="icon" href="data:,">: without one, Firefox asks for /favicon.ico on
# every page); the walk drops data: in the page itself.
CSP = (
    "default-src 'none'; img-src 'self' data:; media-src 'self'; font-src 'self'; style-src 'self'{hashes}; "
    "base-uri 'none'; form-action 'none'"
)

# File types: what a source file becomes.
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".shtml"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})
SNIFF = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF8", ".gif"),
    (b"RIFF", ".webp"),
    (b"%PDF", ".pdf"),
    (b"wOF2", ".woff2"),
    (b"wOFF", ".woff"),
)

EMPTY_URL = "empty url (would fetch the page itself)"

# Elements counted in the report, by the kind of thing they are (tag -> kind).
REMOVED_KIND = {
    "script": "script",
    "iframe": "iframe",
    "frame": "iframe",
    "portal": "iframe",
    "object": "plugin",
    "embed": "plugin",
    "applet": "plugin",
    "form": "form (made inert: controls removed, text kept)",
    "input": "form input",
    "select": "form control (made text)",
    "textarea": "form control (made text)",
    "button": "form control (made text)",
    "noscript": "noscript (unwrapped, then sanitized)",
    "svg": "inline svg",
    "canvas": "canvas",
    "template": "template",
    "dialog": "dialog",
}
# Other files copied as they are: only types a browser shows or downloads without running anything.
ASSET_SUFFIXES = frozenset(
    """
    .txt .md .csv .tsv .json .pdf .epub .woff .woff2 .ttf .otf .eot .ico .bmp .avif .tif .tiff .mp4 .webm
    .ogv .ogg .oga .mp3 .m4a .m4v .wav .flac .opus .vtt .srt .zip .gz .tgz .tar .bz2 .xz .7z .asc .sig .pem
    .pub .gpg .odt .ods .odp .docx .xlsx .pptx .doc .xls .ppt .rtf .jpe .apng .bib .tex .ps .djvu
""".split()
)
