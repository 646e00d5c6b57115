"""Focus rings (WCAG 2.4.7 focus visible, 1.4.11 non-text contrast): the check the whole-app
guard (test_pages_axe_reflow.py) runs on every page, and the tests that prove it can fail.

A control passes when, focused from the keyboard (:focus-visible), it gains an outline or an
outer box-shadow at least 2 px wide whose colour reaches 3:1 against what surrounds the ring:
the first background behind the control (ancestors' backgrounds composited over white), and,
when the ring touches the control (offset under 1 px, or a box-shadow), the control's own
background too (a filled button). Translucent rings are composited over what they sit on
before their contrast is taken, with WCAG's relative luminance. A ring the control already
has unfocused is no indicator. Background images and gradients are not looked at.

Controls that look alike (same tag, type, role, aria-invalid, aria-current, class and colours)
are checked once per page, so a long list of links costs one check; at most MAX_KINDS kinds a
page. The test page's focus is moved by script after one real Tab, which keeps Chromium in
keyboard modality; a control that then does not match :focus-visible is reported as such.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

MAX_KINDS = 80
FOCUSABLE = ('a[href], button, input:not([type="hidden"]), select, textarea, summary, '
             '[tabindex]:not([tabindex="-1"])')

FOCUS_RINGS = """([selector, maxKinds, alwaysTouching]) => {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const pen = canvas.getContext('2d', {willReadFrequently: true});
  const rgba = (css) => {
    const m = css.match(/^rgba?\\(([^)]*)\\)$/);
    if (m) {
      const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    }
    pen.clearRect(0, 0, 1, 1);  // color(), oklch() and the like: the canvas converts them
    pen.fillStyle = css;
    pen.fillRect(0, 0, 1, 1);
    const d = pen.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const over = (top, below) => [0, 1, 2].map((i) => top[i] * top[3] + below[i] * (1 - top[3])).concat(1);
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      const s = v / 255;
      return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const contrast = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const show = (c) => `rgb(${c.slice(0, 3).map(Math.round).join(', ')})`;
  // What is behind an element: the ancestors' backgrounds, composited down to the page's white.
  const backdrop = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const c = rgba(getComputedStyle(node).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    return layers.reduceRight((below, c) => over(c, below), [255, 255, 255, 1]);
  };
  const rings = (el) => {
    const style = getComputedStyle(el);
    const found = [];
    if (!['none', 'hidden'].includes(style.outlineStyle)) {
      found.push({kind: `outline ${style.outlineStyle}`, colour: style.outlineColor,
                  width: parseFloat(style.outlineWidth),
                  touches: alwaysTouching || parseFloat(style.outlineOffset) < 1,
                  inset: false});
    }
    if (style.boxShadow !== 'none') {
      for (const shadow of style.boxShadow.split(/,(?![^(]*\\))/)) {
        const colour = shadow.trim().match(/^(\\w+\\([^)]*\\)|#\\w+|[a-z]+)/)[0];
        const [x, y, , spread = 0] = [...shadow.matchAll(/(-?[\\d.]+)px/g)].map((m) => parseFloat(m[1]));
        found.push({kind: 'box-shadow', colour, width: spread - Math.max(Math.abs(x), Math.abs(y)),
                    touches: true, inset: shadow.includes('inset')});
      }
    }
    return found.map((ring) => ({...ring, key: `${ring.kind} ${ring.colour} ${ring.width}`}));
  };
  const finishTransitions = () => {
    for (const animation of document.getAnimations()) {
      if (animation instanceof CSSTransition) animation.finish();
    }
  };
  const describe = (el) => {
    const type = el.getAttribute('type') ? `[type=${el.getAttribute('type')}]` : '';
    const classes = [...el.classList].map((c) => `.${c}`).join('');
    const field = el.matches('input, select, textarea');
    const name = (field ? el.getAttribute('aria-label') || el.labels?.[0]?.innerText || el.name
                        : el.innerText || el.getAttribute('aria-label')) || '';
    const short = name.trim().replace(/\\s+/g, ' ').slice(0, 30);
    return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${type}${classes} "${short}"`;
  };
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden'
    && !el.matches(':disabled');
  const kinds = new Map();
  for (const el of document.querySelectorAll(selector)) {
    if (!visible(el)) continue;
    const style = getComputedStyle(el);
    const kind = [el.tagName, el.type, el.getAttribute('role'), el.getAttribute('aria-invalid'),
                  el.getAttribute('aria-current'), el.className, style.backgroundColor,
                  show(backdrop(el.parentElement || el))].join('|');
    if (!kinds.has(kind) && kinds.size < maxKinds) kinds.set(kind, el);
  }
  const problems = [];
  for (const el of kinds.values()) {
    if (document.activeElement === el) el.blur();  // the one Tab reached: seen unfocused first
    finishTransitions();
    const before = new Set(rings(el).map((ring) => ring.key));
    el.focus({preventScroll: true, focusVisible: true});
    if (document.activeElement !== el) continue;  // not focusable after all (inert, say)
    if (!el.matches(':focus-visible')) {
      problems.push(`${describe(el)}: does not match :focus-visible when focused from the keyboard`);
      continue;
    }
    finishTransitions();
    const behind = backdrop(el.parentElement || el);
    const own = over(rgba(getComputedStyle(el).backgroundColor), behind);
    const verdicts = rings(el).filter((ring) => !before.has(ring.key)).map((ring) => {
      const colour = over(rgba(ring.colour), ring.inset ? own : behind);
      const against = ring.inset ? [own] : ring.touches ? [behind, own] : [behind];
      const worst = Math.min(...against.map((c) => contrast(colour, c)));
      const ok = ring.width >= 2 && worst >= 3;
      return {ok, text: `${ring.kind} ${ring.width}px ${ring.colour}: ${worst.toFixed(2)}:1 against `
                        + against.map(show).join(' and ')};
    });
    if (!verdicts.some((v) => v.ok)) {
      problems.push(`${describe(el)}: no focus ring of 2 px at 3:1 (`
                    + (verdicts.map((v) => v.text).join('; ') || 'nothing changes on focus') + ')');
    }
  }
  if (document.activeElement) document.activeElement.blur();
  return problems;
}"""


def focus_ring_problems(page: Page, *, as_if_touching: bool = False) -> list[str]:
    """Every kind of control on the page whose keyboard focus ring is missing, thin or faint;
    `as_if_touching` holds every ring to the control's own background too, offset or not."""
    page.keyboard.press("Tab")  # keyboard modality: focus() from here on shows :focus-visible
    found = page.evaluate(FOCUS_RINGS, [FOCUSABLE, MAX_KINDS, as_if_touching])
    return [f"focus ring: {problem}" for problem in found]


PAGE = """<!doctype html><html lang="en"><head><style>
  body {{ margin: 1rem; background: #fff; font: 16px sans-serif; }}
  button, a, input {{ border: 1px solid #0172ad; outline: none; }}
  {css}
</style></head><body>{body}</body></html>"""


@pytest.mark.parametrize(("css", "body"), [
    pytest.param("", "<button>Save</button>", id="no ring at all"),
    pytest.param("a:focus-visible { box-shadow: 0 0 0 2px rgba(2, 154, 232, 0.5); }",
                 '<a href="#">Pico\'s translucent ring</a>', id="faint"),
    pytest.param("input:focus-visible { outline: 1px solid #000; }", "<input aria-label=x>", id="1 px"),
    pytest.param(".note { background: #111; } a:focus-visible { outline: 3px solid #000; outline-offset: 2px; }",
                 '<p class="note"><a href="#">dark on dark</a></p>', id="no contrast with the backdrop"),
    pytest.param("button { background: #000; color: #fff; } button:focus-visible { outline: 3px solid #222; }",
                 "<button>Delete</button>", id="touching a filled button of its colour"),
    pytest.param("a { outline: 3px solid #000; } a:focus-visible { outline: 3px solid #000; }",
                 '<a href="#">always outlined</a>', id="same ring unfocused"),
    pytest.param("summary:focus-visible { outline: 2px solid #999; }",
                 "<details><summary>More</summary>x</details>", id="light grey: 2.8:1"),
])
def test_the_check_finds_a_missing_thin_or_faint_ring(phone, css, body):
    phone.set_content(PAGE.format(css=css, body=body))
    problems = focus_ring_problems(phone)
    assert len(problems) == 1 and "focus ring" in problems[0], problems


def test_a_solid_offset_ring_passes_on_light_and_filled_backgrounds(phone):
    css = """:focus-visible { outline: 3px solid #000; outline-offset: 2px; }
             .tint { background: #fff8e1; } .danger { background: #b3261e; color: #fff; }
             .slow:focus-visible { outline: none; box-shadow: 0 0 0 3px #000; transition: box-shadow 10s; }"""
    body = """<p class="tint"><a href="#">a link on a notice</a></p><button class="danger">Delete</button>
              <button class="slow">A ring that fades in</button><input aria-label="x"><select aria-label="y"><option>1</select>
              <textarea aria-label="z"></textarea><details><summary>More</summary>x</details>
              <div tabindex="0">scroll region</div><input type="checkbox" aria-label="c">"""
    phone.set_content(PAGE.format(css=css, body=body))
    assert focus_ring_problems(phone) == []


# The site's own controls on each light tint it uses, and its filled buttons, with the real
# Pico and app.css (injected into a live page: the CSP allows no inline styles).
SITE_CONTROLS = """<section id="focus-zoo">
  <p class="notice"><a href="#">on a notice</a></p>
  <p class="notice notice-warning"><a href="#">on a warning</a></p>
  <p class="notice notice-info"><a href="#">on an info notice</a></p>
  <div class="owner-note"><a href="#">in an owner's note</a></div>
  <ul class="attention"><li><a href="#"><strong>needs the owner</strong></a></li></ul>
  <div class="sent"><button class="outline">Copy</button></div>
  <p class="bubble bubble-finder"><a href="#">in a message</a></p>
  <p class="sticker-row is-new"><a href="#">a new sticker</a></p>
  <button>Primary</button> <button class="secondary">Secondary</button> <button class="danger">Delete</button>
  <a href="#" role="button">A link as a button</a> <a href="#" role="button" class="secondary outline">Void</a>
  <button class="link-button">Sign out</button>
  <div role="group"><input aria-label="in a group"><button>Go</button></div>
  <input aria-label="text"> <input aria-label="wrong" aria-invalid="true"> <input aria-label="right" aria-invalid="false">
  <input type="checkbox" aria-label="box"> <input type="checkbox" role="switch" aria-label="switch">
  <input type="radio" aria-label="radio"> <input type="file" aria-label="file">
  <select aria-label="pick"><option>1</option></select> <textarea aria-label="words"></textarea>
  <details><summary>More</summary>x</details> <div tabindex="0" class="notice">a scroll region</div>
</section>"""


def test_the_site_ring_reaches_3_to_1_on_every_tint_and_against_filled_buttons(phone):
    # Pico's dark "contrast" button is left out: black cannot touch it, and the ring's 2 px
    # offset keeps the page's white between them (the guard checks it wherever it is used).
    phone.goto("/")
    phone.evaluate("(html) => document.querySelector('main').insertAdjacentHTML('afterbegin', html)", SITE_CONTROLS)
    zoo = phone.locator("#focus-zoo")
    assert zoo.locator("button.danger").evaluate("(el) => getComputedStyle(el).backgroundColor") == "rgb(179, 38, 30)"
    assert focus_ring_problems(phone, as_if_touching=True) == []
