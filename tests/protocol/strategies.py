"""Hypothesis strategies that build AMI byte streams the way servers write them."""

from __future__ import annotations

from hypothesis import strategies as st

# Keys as Asterisk writes them (letters, digits, some punctuation; never ':' or spaces).
keys = st.from_regex(r"[A-Za-z][A-Za-z0-9_()/;@.\-]{0,20}", fullmatch=True)
# Values: any text without CR/LF; include non-ASCII and `: ` inside values.
values = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]),
    max_size=40,
)
raw_values = st.binary(max_size=30).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@st.composite
def messages(draw: st.DrawFn) -> list[tuple[str, str]]:
    """One message: a first `Event`/`Response` field, then fields (keys may repeat)."""
    first = draw(st.sampled_from(["Event", "Response", "Other"]))
    pairs = [(first, draw(values))]
    pairs += draw(st.lists(st.tuples(keys, values), max_size=8))
    return pairs


@st.composite
def streams(draw: st.DrawFn, line_ending: bytes | None = None) -> bytes:
    """A whole server stream: banner, messages, optional stray blank lines, bare-LF endings."""
    eol = line_ending if line_ending is not None else draw(st.sampled_from([b"\r\n", b"\n"]))
    out = [b"Asterisk Call Manager/11.0.0" + eol]
    for pairs in draw(st.lists(messages(), max_size=6)):
        if draw(st.booleans()) and draw(st.booleans()):
            out.append(eol)  # a stray blank line between messages
        out.append(b"".join(f"{k}: {v}".encode() + eol for k, v in pairs) + eol)
    return b"".join(out)


def chunkings(data: bytes) -> st.SearchStrategy[list[bytes]]:
    """Every way of cutting ``data`` into consecutive non-empty chunks (sampled)."""
    if not data:
        return st.just([])
    cuts = st.lists(st.integers(min_value=1, max_value=len(data) - 1 or 1), unique=True)
    return cuts.map(
        lambda points: [
            data[a:b]
            for a, b in zip([0, *sorted(points)], [*sorted(points), len(data)], strict=True)
            if a < b
        ]
    )


@st.composite
def layout_streams(
    draw: st.DrawFn,
    heads: st.SearchStrategy[str],
    keys: st.SearchStrategy[str],
    values: st.SearchStrategy[str],
) -> tuple[bytes, list[list[bytes]]]:
    """Messages drawn from a few layouts (a first line and keys, so that the parser learns
    their shapes and then matches them), each with its own values and line endings, written
    in every way a line can be (``Key: v``, ``Key:v``, no colon), some with bytes that are not
    UTF-8, some after a stray blank line. Returns the stream and each message's lines as sent
    (line endings removed)."""
    how = st.sampled_from(["colon-space", "colon-space", "colon-space", "colon", "no-colon"])
    layouts = draw(
        st.lists(
            st.tuples(heads, st.lists(st.tuples(keys, how), max_size=7)), min_size=1, max_size=3
        )
    )
    wire: list[bytes] = []
    messages = []
    for _ in range(draw(st.integers(1, 8))):
        head, layout = draw(st.sampled_from(layouts))
        eol = draw(st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n"]))
        lines = [head.encode()]
        for key, style in layout:
            value = draw(values)
            line = {"colon-space": f"{key}: {value}", "colon": f"{key}:{value}"}.get(style, value)
            raw = line.encode()
            if draw(st.integers(0, 9)) == 0:
                raw += b"\xff"  # not UTF-8
            if eol == b"\n":
                raw = raw.replace(b"\r", b"")  # with bare LF endings, a CR would end a line
            if raw.strip(b"\r"):  # an empty line would end the message
                lines.append(raw)
        if draw(st.booleans()) and draw(st.booleans()):
            wire.append(eol)  # a stray blank line
        wire.append(b"".join(line + eol for line in lines) + eol)
        messages.append(lines)
    return b"".join(wire), messages
