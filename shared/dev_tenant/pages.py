"""HTML of the hosted pages (login, sign-up, Google chooser, errors, logout), rendered with Jinja2."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape
from starlette.responses import HTMLResponse

BASE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}Dev tenant{% endblock %} · local Auth0 stand-in</title>
<style>
  :root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1e212a; }
  body { margin: 0; background: #eef0f3; min-height: 100vh; display: flex; align-items: center; justify-content: center; }
  main { background: #fff; width: 100%; max-width: 400px; margin: 2rem 1rem; padding: 2rem 2.5rem;
         border-radius: 8px; box-shadow: 0 12px 40px rgba(0,0,0,.12); }
  .banner { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: #635dff; margin: 0 0 .25rem; }
  h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
  p { line-height: 1.45; }
  label { display: block; font-weight: 600; font-size: .9rem; margin: 1rem 0 .3rem; }
  input[type=email], input[type=password], input[type=text] { box-sizing: border-box; width: 100%;
         padding: .7rem .8rem; font-size: 1rem; border: 1px solid #c9cace; border-radius: 4px; }
  input:focus { outline: 2px solid #635dff; border-color: #635dff; }
  button, .button { display: block; box-sizing: border-box; width: 100%; margin-top: 1.25rem; padding: .8rem;
         font-size: 1rem; border: 0; border-radius: 4px; background: #635dff; color: #fff; cursor: pointer;
         text-align: center; text-decoration: none; }
  button.secondary { background: #fff; color: #1e212a; border: 1px solid #c9cace; }
  .error { background: #fdecea; color: #a3231b; border-left: 4px solid #d03c38; padding: .7rem .9rem;
           border-radius: 4px; margin: 1rem 0; }
  .hint { background: #f3f2ff; border-radius: 4px; padding: .7rem .9rem; font-size: .9rem; }
  .hint code { font-size: .95em; }
  .links { margin-top: 1.25rem; font-size: .9rem; display: flex; justify-content: space-between; gap: 1rem; }
  a { color: #635dff; }
  ul.rules { font-size: .85rem; padding-left: 1.2rem; }
  .account { display: flex; align-items: center; gap: .75rem; }
  .avatar { width: 2.2rem; height: 2.2rem; border-radius: 50%; background: #1a73e8; color: #fff;
            display: inline-flex; align-items: center; justify-content: center; font-weight: 700; }
  hr { border: 0; border-top: 1px solid #e3e4e6; margin: 1.5rem 0 .5rem; }
</style>
</head>
<body>
<main>
  <p class="banner">Local dev tenant &middot; stands in for Auth0's login page</p>
  {% block content %}{% endblock %}
</main>
</body>
</html>
"""

# Every hosted page offers the way back: the app receives error=access_denied, as from Auth0.
CANCEL = """<hr>
<form method="post" action="/u/cancel">
  <input type="hidden" name="state" value="{{ tx_id }}">
  <input type="hidden" name="csrf" value="{{ csrf }}">
  <button type="submit" class="secondary">Cancel &middot; Back to app</button>
</form>
"""

LOGIN = """{% extends "base.html" %}
{% block title %}Log in{% endblock %}
{% block content %}
<h1>Welcome</h1>
<p>Log in to continue to <strong>{{ client_name }}</strong>.</p>
<p class="hint">Demo user: <code>{{ demo_email }}</code> / <code>{{ demo_password }}</code></p>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/u/login">
  <input type="hidden" name="state" value="{{ tx_id }}">
  <input type="hidden" name="csrf" value="{{ csrf }}">
  <label for="username">Email address</label>
  <input id="username" name="username" type="email" autocomplete="username" required autofocus value="{{ email }}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit" name="action" value="default">Continue</button>
</form>
<div class="links">
  <span>Don't have an account? <a href="/u/signup?state={{ tx_id }}">Sign up</a></span>
</div>
{% include "cancel.html" %}
{% endblock %}
"""

SIGNUP = """{% extends "base.html" %}
{% block title %}Sign up{% endblock %}
{% block content %}
<h1>Create your account</h1>
<p>Sign up to continue to <strong>{{ client_name }}</strong>.</p>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/u/signup">
  <input type="hidden" name="state" value="{{ tx_id }}">
  <input type="hidden" name="csrf" value="{{ csrf }}">
  <label for="email">Email address</label>
  <input id="email" name="email" type="email" autocomplete="email" required autofocus value="{{ email }}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="new-password" required>
  <ul class="rules">
    <li>At least 8 characters</li>
    <li>At least 3 of: lower case, upper case, numbers, special characters</li>
  </ul>
  <button type="submit">Continue</button>
</form>
<div class="links">
  <span>Already have an account? <a href="/u/login?state={{ tx_id }}">Log in</a></span>
</div>
{% include "cancel.html" %}
{% endblock %}
"""

GOOGLE = """{% extends "base.html" %}
{% block title %}Choose an account{% endblock %}
{% block content %}
<h1>Sign in with Google (simulated)</h1>
<p>No Google account is contacted: this chooser stands in for Google while you work offline.
Choose an account to continue to <strong>{{ client_name }}</strong>.</p>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/u/google">
  <input type="hidden" name="state" value="{{ tx_id }}">
  <input type="hidden" name="csrf" value="{{ csrf }}">
  <input type="hidden" name="account" value="demo">
  <button type="submit" class="secondary account">
    <span class="avatar">DG</span>
    <span>{{ google_demo_name }} &middot; {{ google_demo_email }}</span>
  </button>
</form>
<hr>
<form method="post" action="/u/google">
  <input type="hidden" name="state" value="{{ tx_id }}">
  <input type="hidden" name="csrf" value="{{ csrf }}">
  <input type="hidden" name="account" value="other">
  <label for="name">Or use another account &mdash; name</label>
  <input id="name" name="name" type="text" autocomplete="name" value="{{ name }}">
  <label for="email">Email address</label>
  <input id="email" name="email" type="email" autocomplete="email" required value="{{ email }}">
  <button type="submit">Continue</button>
</form>
{% include "cancel.html" %}
{% endblock %}
"""

MESSAGE = """{% extends "base.html" %}
{% block title %}{{ heading }}{% endblock %}
{% block content %}
<h1>{{ heading }}</h1>
{% if error %}<p class="error" role="alert"><strong>{{ error }}</strong>{% if description %}: {{ description }}{% endif %}</p>
{% elif description %}<p>{{ description }}</p>{% endif %}
{% if hint %}<p>{{ hint }}</p>{% endif %}
{% endblock %}
"""

AVATAR = """<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">
<rect width="128" height="128" rx="64" fill="{{ color }}"/>
<text x="64" y="64" dy=".35em" text-anchor="middle" font-family="system-ui, sans-serif" font-size="52"
 font-weight="600" fill="#fff">{{ initials }}</text>
</svg>
"""

env = Environment(
    loader=DictLoader(
        {
            "base.html": BASE,
            "cancel.html": CANCEL,
            "login.html": LOGIN,
            "signup.html": SIGNUP,
            "google.html": GOOGLE,
            "message.html": MESSAGE,
            "avatar.svg": AVATAR,
        }
    ),
    autoescape=select_autoescape(["html", "svg"]),
)

# Security headers for every hosted page: no framing (clickjacking of the login form), no caching.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def render(template: str, status_code: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(env.get_template(template).render(**context), status_code=status_code, headers=PAGE_HEADERS)


def message_page(heading: str, description: str = "", *, error: str = "", hint: str = "", status_code: int = 400):
    return render("message.html", status_code, heading=heading, description=description, error=error, hint=hint)


def avatar_svg(initials: str, color: str) -> str:
    return env.get_template("avatar.svg").render(initials=initials, color=color)
