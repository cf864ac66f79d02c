"""What the reference scripts share: an Order Get request envelope, and the dict ElementTree
gives for an element (child elements by tag, repeated tags as lists, leaves as their text)."""


def envelope(page, paging_token, limit, auth_token):
    token = f"<Token>{paging_token}</Token>" if paging_token else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<AuroraRequestEnvelope><Header><AuthToken>{auth_token}</AuthToken></Header><Requests><Request><Order>"
        '<Get tracking="none"><RequestID>1</RequestID><DetailLevel>Full</DetailLevel>'
        f"<Paging>{token}<Limit>{limit}</Limit><Page>{page}</Page></Paging></Get></Order></Request></Requests></AuroraRequestEnvelope>"
    ).encode()


def record(element):
    children = list(element)
    if not children:
        return element.text
    out = {}
    for child in children:
        value = record(child)
        if child.tag in out:
            if not isinstance(out[child.tag], list):
                out[child.tag] = [out[child.tag]]
            out[child.tag].append(value)
        else:
            out[child.tag] = value
    return out
