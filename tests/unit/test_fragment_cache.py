"""{% cache key %}: a block rendered once per key, never shared between keys."""

import jinja2

from shared.web import FragmentCache


def environment(**templates: str) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.DictLoader(templates), autoescape=True, extensions=[FragmentCache])


def test_a_block_is_rendered_once_per_key_and_reused():
    calls = []
    env = environment(page="{% cache key %}{{ render() }}{% endcache %}")
    render = lambda: calls.append(1) or f"render {len(calls)}"  # noqa: E731
    page = env.get_template("page")
    assert page.render(key=("a",), render=render) == "render 1"
    assert page.render(key=("a",), render=render) == "render 1"
    assert page.render(key=("b",), render=render) == "render 2"
    assert len(calls) == 2


def test_no_key_means_no_caching():
    env = environment(page="{% cache None %}{{ name }}{% endcache %}")
    page = env.get_template("page")
    assert [page.render(name=n) for n in ("x", "y")] == ["x", "y"]


def test_cached_blocks_stay_escaped_and_are_bounded():
    env = environment(page="{% cache key %}<b>{{ name }}</b>{% endcache %}")
    page = env.get_template("page")
    assert page.render(key=1, name="<script>") == "<b>&lt;script&gt;</b>"
    for i in range(FragmentCache.size + 10):
        page.render(key=("k", i), name=str(i))
    assert len(env.extensions[FragmentCache.identifier].blocks) == FragmentCache.size
