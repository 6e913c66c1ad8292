"""Fill in HTML forms the way a person would, without a browser: find the form, keep its hidden fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    inputs: list[dict[str, str]] = field(default_factory=list)
    buttons: list[dict[str, str]] = field(default_factory=list)

    def field_named(self, *, type_: str | None = None, contains: str | None = None) -> str | None:
        for attrs in self.inputs:
            name = attrs.get("name", "")
            if (type_ and attrs.get("type") == type_) or (contains and contains in name):
                return name
        return None


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs_list) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        if tag == "form":
            self.forms.append(Form(attrs.get("action", ""), attrs.get("method", "get").lower()))
        elif self.forms and tag == "input":
            self.forms[-1].inputs.append(attrs)
            if attrs.get("name"):
                self.forms[-1].fields[attrs["name"]] = attrs.get("value", "")
        elif self.forms and tag == "button":
            self.forms[-1].buttons.append(attrs)


def forms_in(html: str, base_url: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    for form in parser.forms:
        form.action = urljoin(base_url, form.action)
    return parser.forms


def password_form(html: str, base_url: str) -> Form:
    """The first form on the page with a password field (a login or sign-up form)."""
    for form in forms_in(html, base_url):
        if form.field_named(type_="password"):
            return form
    raise AssertionError(f"no password form on the page:\n{html[:2000]}")
