"""Lexical scrubbing: credentials found by their shape in text, where no parsed structure says what they are.

Two uses. `scrub_text` runs on every string of an event that mentions a credential at all (bearer and basic
credentials, JWTs, `name=value` credential assignments, `Authorization:` values, passwords in URLs, and
credential-named keys of JSON held inside a string). `scrub_lexical` adds the rules for input that could not be
parsed (quarantined lines, a Secret's apply-patch YAML that is not YAML): values of `data`/`stringData`
objects and YAML blocks, and, in text that mentions Secrets, any base64 run long enough to be a value.
Every rule finds spans of the original text; overlapping spans are merged and each is replaced once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

MARK = "[REDACTED by kanalytics]"

Span = tuple[int, int]
Marker = Callable[[str, int], str]  # (removed text, its offset) -> what replaces it

# Keys (lower case, letters and digits only) whose string value is a credential wherever they appear.
CREDENTIAL_KEYS = frozenset(
    {
        "token",
        "accesstoken",
        "idtoken",
        "refreshtoken",
        "bearertoken",
        "authtoken",
        "sessiontoken",
        "securitytoken",
        "password",
        "passwd",
        "passphrase",
        "secret",
        "clientsecret",
        "secretkey",
        "secretaccesskey",
        "awssecretaccesskey",
        "apikey",
        "privatekey",
        "clientkeydata",
        "authorization",
    }
)
# Query parameter names (normalised as above) that carry a credential: exact names, and name endings.
_PARAM_NAMES = CREDENTIAL_KEYS | {"auth", "key", "sig"}
_PARAM_ENDINGS = (
    "token",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "apikey",
    "signature",
    "credential",
    "credentials",
)

# Cheap pre-filters. Text (lower case) that none of these match matches no rule of `text_spans`; in the JSON
# text of a whole event (strings escaped: `\\"`, `\\t`) they are looked for in that escaped form. Each
# pattern starts with a literal, which the regex engine searches for fast.
_TRIGGER_WORDS = ("eyj", "bearer", "basic", "://")
_CONTEXT = r"[a-z]*(?:\\+\"|\\*')?(?:[ \t]|\\t)*[:=]"
_CONTEXT_WORDS = ("token", "passw", "passph", "secret", "key", "signature", "credential", "authorization")
_TRIGGER_CONTEXTS = tuple((word, re.compile(word + _CONTEXT)) for word in _CONTEXT_WORDS)
_URI_WORDS = ("token", "pass", "secret", "key", "sig", "auth", "credential")  # credential parameter names
_TRIGGER_BYTES = tuple(word.encode() for word in _TRIGGER_WORDS)


def _bytes_patterns(*patterns: str) -> tuple[re.Pattern[bytes], ...]:
    return tuple(re.compile(p.encode()) for p in patterns)


# per word found: the patterns of a credential in a string (`_CONTEXT`), and of a credential key with a string
# value or a Secret's kind (`_WORD_STRUCTURES`)
_WORD_CONTEXTS = {
    word.encode(): _bytes_patterns(*(w + _CONTEXT for w in ws))
    for word, ws in {
        "token": ("token",),
        "pass": ("passw", "passph"),
        "secret": ("secret",),
        "key": ("key",),
        "signature": ("signature",),
        "credential": ("credential",),
    }.items()
}
_WORD_STRUCTURES = {
    b"token": _bytes_patterns('token":"'),
    b"pass": _bytes_patterns('passw[a-z]*":"', 'passphrase":"'),
    b"secret": _bytes_patterns('secret":"', r'kind\\*": ?\\*"secret'),
    b"key": _bytes_patterns(r'(?:api|private|secret|access)[-_. ]?key":"', r'key[-_. ]?data":"'),
}
_WORD_PATTERNS = tuple(
    (word, _WORD_CONTEXTS[word], _WORD_STRUCTURES.get(word, ())) for word in _WORD_CONTEXTS
)  # substring tests (C speed) first, patterns only for the words present
_AUTHORIZATION_CONTEXT = re.compile(("authorization" + _CONTEXT).encode())
_AUTHORIZATION_KEY = b'authorization":"'
_NON_ALNUM = re.compile(r"[^a-z0-9]")
_NOT_REDACTED = r"(?!\[REDACTED)"
_PLACEHOLDER = re.compile(r"(['\"]?)\[REDACTED by kanalytics[^\]]*\]\1")  # already redacted: left alone

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_SCHEME = re.compile(r"(?i)\b(?:bearer|basic)(?:[ \t]|%20|\+)+" + _NOT_REDACTED + r"([A-Za-z0-9._~+/%-]+=*)")
_PROSE = re.compile(r"[a-z]{1,15}")  # "bearer token", "basic auth": words, not credentials
# Anchored at the start of a scheme-character run: unanchored, every position of a long run rescans it (quadratic).
_USERINFO = re.compile(
    r"(?<![A-Za-z0-9+.-])[0-9+.-]*[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@\"'\\]*:([^/\s@\"'\\]+)@"
)
_AUTHORIZATION = re.compile(
    r"(?i)\bauthorization[\"']?[ \t]*[:=][ \t]*[\"']?(?!bearer\b|basic\b)"
    + _NOT_REDACTED
    + r"([^\s\"'&,;\\]+)"
)
_ASSIGNMENT = re.compile(
    r"(?i)(?<![\w-])[\w.-]*?(?:token|password|passwd|passphrase|secret|secret[-_]?access[-_]?key|api[-_]?key|private[-_]?key"
    r"|client[-_]?key[-_]?data"
    r"|signature|credential)[ \t]*[:=][ \t]*(?!(?:true|false|null|~)\b)"
    + _NOT_REDACTED
    + r"([^\s\"'&,;}\]\\]+)"
)
# A JSON key at any escape level (`"k":` or `\"k\":` inside a JSON string), then its value.
_JSON_KEY = re.compile(r"(\\*)\"([A-Za-z0-9_.-]{1,64})\1\"[ \t]*:[ \t]*")
_YAML_DATA = re.compile(r"(?:^|\n|\\n)([ \t]*)(?:data|stringData):[ \t]*(?=\r|\n|\\[rn])")
_YAML_FLOW_DATA = re.compile(r"(?<![\"\w])(?:data|stringData):[ \t]*\{")
_LINE_BREAK = re.compile(r"\r?\n|\\r\\n|\\n")
_BASE64 = re.compile(
    r"(?<![A-Za-z0-9+/=])(?:[A-Za-z0-9+/]{20,}={0,2}|[A-Za-z0-9+/]{6,}={1,2})(?![A-Za-z0-9+/=])"
)
_KEY_AFTER = re.compile(r"\\*\"[ \t]*:")
_LOWER, _UPPER, _DIGIT_OR_PAD = re.compile("[a-z]"), re.compile("[A-Z]"), re.compile("[0-9+=]")
_STRUCTURE = re.compile(r'[{}\[\],"]')


def normalise_key(key: str) -> str:
    return _NON_ALNUM.sub("", key.lower())


def is_credential_key(key: str) -> bool:
    return len(key) <= 64 and normalise_key(key) in CREDENTIAL_KEYS


def is_credential_param(name: str) -> bool:
    norm = normalise_key(name)
    return norm in _PARAM_NAMES or norm.endswith(_PARAM_ENDINGS)


def credential_hints(json_text: bytes) -> tuple[bool, bool]:
    """For an event as JSON: (a string may match a rule of `text_spans`, an object may hold a credential key).

    Both False is a proof that nothing in the event can be redacted except by its resource (a Secret's).
    One scan finds the words the rules need; only the patterns of the words found run after it.
    """
    low = json_text.lower()
    text = _AUTHORIZATION_CONTEXT.search(low) is not None or any(w in low for w in _TRIGGER_BYTES)
    structure = _AUTHORIZATION_KEY in low
    for word, contexts, structures in _WORD_PATTERNS:
        if word in low:
            text = text or any(p.search(low) for p in contexts)
            structure = structure or any(p.search(low) for p in structures)
    return text, structure


def _mentions_text(low: str) -> bool:
    if any(word in low for word in _TRIGGER_WORDS):
        return True
    return any(word in low and pattern.search(low) for word, pattern in _TRIGGER_CONTEXTS)


def uri_may_hold_credentials(uri: str) -> bool:
    """False when no query parameter of `uri` can be named like a credential and no text rule can match."""
    low = uri.lower()
    return "%" in low or any(word in low for word in _URI_WORDS) or _mentions_text(low)


def plain_mark(_removed: str, _offset: int) -> str:
    return MARK


def scrub_text(text: str) -> str:
    """`text` with credentials found by shape replaced by MARK (the same object when nothing matched)."""
    if not _mentions_text(text.lower()):
        return text
    spans = list(text_spans(text))
    return replace(text, spans, plain_mark) if spans else text


def scrub_lexical(text: str, *, assume_secret: bool, mark: Marker = plain_mark) -> tuple[str, int]:
    """`text` scrubbed by every lexical rule, and the number of spans removed."""
    spans = list(text_spans(text))
    spans += _data_spans(text)
    if assume_secret:
        spans += _base64_spans(text)
    merged = [s for s in merge(spans) if not _PLACEHOLDER.fullmatch(text, s[0], s[1])]
    if not merged:
        return text, 0
    return replace(text, merged, mark), len(merged)


def text_spans(text: str) -> Iterator[Span]:
    for match in _JWT.finditer(text):
        yield match.span()
    for match in _SCHEME.finditer(text):
        if not _PROSE.fullmatch(match[1]):
            yield match.span(1)
    for pattern in (_USERINFO, _AUTHORIZATION, _ASSIGNMENT):
        for match in pattern.finditer(text):
            yield match.span(1)
    for match in _JSON_KEY.finditer(text):
        if is_credential_key(match[2]):
            span = _string_value(text, match.end(), len(match[1]))
            if span is not None and text[span[0] : span[1]] != MARK:
                yield span


def merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def replace(text: str, spans: list[Span], mark: Marker) -> str:
    parts: list[str] = []
    position = 0
    for start, end in merge(spans):
        parts.append(text[position:start])
        parts.append(mark(text[start:end], start))
        position = end
    parts.append(text[position:])
    return "".join(parts)


# -- JSON strings at any escape level -------------------------------------------------------------------------
def _quote_run(text: str, quote: int) -> int:
    """How many backslashes stand right before the quote at index `quote`."""
    k = quote
    while k > 0 and text[k - 1] == "\\":
        k -= 1
    return quote - k


def _string_end(text: str, start: int, level: int) -> int:
    """Index of the closing delimiter (its first backslash) of a string whose content starts at `start`.

    Delimiters at escape level `level` are `level` backslashes and a quote; more backslashes escape the quote
    (`level + 2(level + 1)k` of them escape backslashes first); fewer mean an enclosing string ended. An
    unterminated string runs to the end of the text.
    """
    position = start
    while True:
        quote = text.find('"', position)
        if quote == -1:
            return len(text)
        run = _quote_run(text, quote)
        if run < level or (run - level) % (2 * level + 2) == 0:
            return quote - min(run, level)
        position = quote + 1


def _string_value(text: str, at: int, level: int) -> Span | None:
    """The content of the string value that starts at `at`, if the value there is a string."""
    opening = "\\" * level + '"'
    if not text.startswith(opening, at):
        return None
    start = at + len(opening)
    return (start, _string_end(text, start, level))


def _data_spans(text: str) -> Iterator[Span]:
    for match in _JSON_KEY.finditer(text):
        if match[2] in ("data", "stringData") and text.startswith("{", match.end()):
            yield from _object_values(text, match.end() + 1, len(match[1]))
    for match in _YAML_FLOW_DATA.finditer(text):
        yield (match.end(), _closing_brace(text, match.end()))
    for match in _YAML_DATA.finditer(text):
        yield from _yaml_block_values(text, match.end(), len(match[1].expandtabs()))


def _object_values(text: str, position: int, level: int) -> Iterator[Span]:
    """Spans of every value of the JSON object whose content starts at `position` (keys are kept)."""
    quote_len = level + 1
    n = len(text)
    while position < n:
        while position < n and text[position] in " \t\r\n,":
            position += 1
        if position >= n or text[position] == "}":
            return
        key = _string_value(text, position, level)
        if key is None:  # not a key where one must be: take the rest of the object
            yield (position, _closing_brace(text, position))
            return
        position = key[1] + quote_len
        colon = text.find(":", position)
        if colon == -1:
            return
        position = value_start = colon + 1
        depth = 0
        while position < n:  # to the comma or brace that ends this value, skipping strings and nesting
            found = _STRUCTURE.search(text, position)
            if found is None:
                position = n
                break
            char = found[0]
            if char == '"':
                run = _quote_run(text, found.start())
                if run < level:  # an enclosing string ended: so does this object
                    yield (value_start, found.start() - run)
                    return
                position = found.end()
                if (run - level) % (2 * level + 2) == 0:  # a string of this level opens: skip it
                    position = _string_end(text, position, level) + quote_len
                continue
            if char in "{[":
                depth += 1
            elif char in "]}" and depth:
                depth -= 1
            elif depth == 0:  # the comma or closing brace that ends the value
                position = found.start()
                break
            position = found.end()
        yield from _value_span(text, value_start, min(position, n), level)
        if position >= n or text[position] == "}":
            return
        position += 1


def _value_span(text: str, start: int, end: int, level: int) -> Iterator[Span]:
    """A value's span without surrounding blanks, and without its quotes when it is a whole string."""
    while start < end and text[start] in " \t\r\n":
        start += 1
    while end > start and text[end - 1] in " \t\r\n":
        end -= 1
    quote = "\\" * level + '"'
    if text[start:end] == "null":
        return
    if end - start >= 2 * len(quote) and text.startswith(quote, start) and text.endswith(quote, start, end):
        start, end = start + len(quote), end - len(quote)
    yield (start, end)


def _closing_brace(text: str, position: int) -> int:
    depth = 1
    for index in range(position, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return len(text)


def _yaml_block_values(text: str, position: int, indent: int) -> Iterator[Span]:
    """Values of the `key: value` lines under `data:`; lines indented deeper (block scalars) go whole."""
    key_indent: int | None = None
    for start, end in _lines(text, position):
        content = text[start:end]
        stripped = content.lstrip(" \t")
        if not stripped:
            continue
        depth = len(content.expandtabs()) - len(stripped.expandtabs())
        if depth <= indent:
            return
        head = end - len(stripped)
        if key_indent is None:
            key_indent = depth
        colon = stripped.find(":")
        if depth == key_indent and colon > 0 and stripped[:1] not in "'\"":
            value = head + colon + 1
            while value < end and text[value] in " \t":
                value += 1
            yield (value, end)
        else:
            yield (head, end)


def _lines(text: str, position: int) -> Iterator[Span]:
    for match in _LINE_BREAK.finditer(text, position):
        yield (position, match.start())
        position = match.end()
    yield (position, len(text))


def _base64_spans(text: str) -> Iterator[Span]:
    """Runs that look like encoded values: mixed case with a digit or padding, not a path, not a key."""
    for match in _BASE64.finditer(text):
        run = match[0]
        if (
            not run.startswith("/")
            and _LOWER.search(run)
            and _UPPER.search(run)
            and _DIGIT_OR_PAD.search(run)
            and not _KEY_AFTER.match(text, match.end())
        ):
            yield match.span()
