"""Pages that each make Firefox ESR (Tor Browser's engine) fetch from a remote host of their own, by a
means the shared corpora cover thinly or not at all: <link> types, srcset and <picture> choice, media,
plugins, CSS image properties. Every remote URL of page NAME is on http://NAME.example/.

Tried and left out because Firefox 153 ESR fetches nothing for them even unsanitized, with the Safest
preferences: <link rel=preload as=font>, rel=manifest, rel=search, <meta http-equiv=Link>, <track> of a
video that did not load, CSS filter:url() and clip-path:url() (SVG is off), @font-face (web fonts are off).
Left out as unsteady: p::before{content:url()} is fetched on a page's first load only, not when read again
in the same session (corpora/leaks css_content covers it).
"""

from __future__ import annotations

VECTORS = {  # name: (in <head>, in <body>)
    "link-stylesheet": ('<link rel="stylesheet" href="{r}/s.css">', ""),
    "link-alternate-stylesheet": ('<link rel="alternate stylesheet" title="alt" href="{r}/s.css">', ""),
    "link-preload-image": ('<link rel="preload" as="image" href="{r}/i.png">', ""),
    "link-preload-style": ('<link rel="preload" as="style" href="{r}/s.css">', ""),
    "link-prefetch": ('<link rel="prefetch" href="{r}/p">', ""),
    "link-next": ('<link rel="next" href="{r}/next.html">', ""),  # prefetched, when prefetching is on
    "link-icon": ('<link rel="icon" href="{r}/i.ico">', ""),
    "link-shortcut-icon": ('<link rel="shortcut icon" href="{r}/i.ico">', ""),
    "link-apple-touch-icon": ('<link rel="apple-touch-icon" href="{r}/i.png">', ""),
    "meta-refresh": ('<meta http-equiv="refresh" content="0; url={r}/r.html">', ""),
    "base-href": ('<base href="{r}/">', '<img src="relative.png" alt="">'),
    "img": ("", '<img src="{r}/i.png" alt="">'),
    "img-srcset-x": ("", '<img src="local.png" srcset="{r}/i.png 1x, {r}/i2.png 2x" alt="">'),
    "img-srcset-w": ("", '<img srcset="{r}/a.png 100w, {r}/b.png 2000w" sizes="50vw" alt="">'),
    "picture-avif": ("", '<picture><source type="image/avif" srcset="{r}/i.avif"><img alt=""></picture>'),
    "picture-media": ("", '<picture><source media="(min-width:1px)" srcset="{r}/i.png"><img></picture>'),
    "input-image": ("", '<input type="image" src="{r}/i.png" alt="go">'),
    "video-poster": ("", '<video poster="{r}/p.png" width="100" height="50"></video>'),
    "video-src": ("", '<video src="{r}/v.webm" preload="auto"></video>'),
    "video-source": ("", '<video preload="auto"><source src="{r}/v.mp4" type="video/mp4"></video>'),
    "audio-src": ("", '<audio src="{r}/a.ogg" preload="auto"></audio>'),
    "object-data": ("", '<object data="{r}/o.html" width="50" height="50"></object>'),
    "object-image": ("", '<object data="{r}/o.png" type="image/png"></object>'),
    "embed-src": ("", '<embed src="{r}/e.html" type="text/html">'),
    "iframe-src": ("", '<iframe src="{r}/f.html"></iframe>'),
    "table-background": ("", '<table background="{r}/t.png"><tr><td background="{r}/d.png">x</table>'),
    "style-import": ('<style>@import url("{r}/s.css");</style>', ""),
    "css-background": ("", '<p style="background-image:url({r}/b.png)">x</p>'),
    "css-image-set": ("", '<p style="background-image:image-set(url({r}/b.png) 1x)">x</p>'),
    "css-webkit-image-set": ("", '<p style="background-image:-webkit-image-set(url({r}/b.png) 1x)">x</p>'),
    "css-cursor": ("", '<p style="cursor:url({r}/c.png), auto">x</p>'),
    "css-list-style": ("", '<ul><li style="list-style-image:url({r}/l.png)">x</li></ul>'),
    "css-border-image": ("", '<p style="border:10px solid;border-image:url({r}/b.png) 30 round">x</p>'),
    "css-mask-image": ("", '<p style="mask-image:url({r}/m.png)">x</p>'),
    "css-shape-outside": ("", '<p style="float:left;width:9px;shape-outside:url({r}/s.png)">x</p>'),
    "css-escaped-url": ("", '<p style="background:u\\72l({r}/e.png)">x</p>'),
}


def pages() -> dict[str, str]:
    """``NAME.html`` -> the page of vector NAME."""
    out = {}
    for name, (head, body) in VECTORS.items():
        remote = f"http://{name}.example"
        out[f"{name}.html"] = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{name}</title>'
                               f"{head.format(r=remote)}</head><body><p>before</p>{body.format(r=remote)}"
                               "<p>after</p></body></html>")
    return out
