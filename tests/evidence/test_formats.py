"""Upload readers: the same records whatever way the bytes are cut into chunks."""

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.evidence.formats import Malformed, UnsupportedUpload, reader_for

cells = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
rows = st.lists(st.tuples(cells, cells, cells), min_size=1, max_size=12)


async def chunked(data: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    start = 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}):
        yield data[start:cut]
        start = cut
    yield data[start:]


async def read(media: str, data: bytes, cuts: list[int], max_line: int = 65536) -> list[Any]:
    reader = reader_for(media, max_line, ("a", "b", "c"))
    return [line async for line in reader(chunked(data, cuts))]


@settings(max_examples=150, deadline=None)
@given(rows=rows, cuts=st.lists(st.integers(0, 10_000), max_size=20))
async def test_csv_rows_survive_any_chunking_even_with_quoted_newlines_and_commas(
    rows: list[tuple[str, str, str]], cuts: list[int]
) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["a", "b", "c"])
    writer.writerows(rows)
    expected = [
        {k: v for k, v in zip("abc", row, strict=True) if v != ""}
        for row in csv.reader(io.StringIO(text.getvalue()))
        if any(row)
    ][1:]
    got = await read("text/csv", text.getvalue().encode(), cuts)
    assert [value for _, value in got] == expected


@settings(max_examples=100, deadline=None)
@given(
    records=st.lists(
        st.dictionaries(st.sampled_from("xyz"), st.integers(-(2**62), 2**62)), max_size=20
    ),
    cuts=st.lists(st.integers(0, 10_000), max_size=20),
)
async def test_ndjson_and_json_arrays_survive_any_chunking(
    records: list[dict[str, int]], cuts: list[int]
) -> None:
    ndjson = "".join(json.dumps(r) + "\n" for r in records).encode()
    assert [v for _, v in await read("application/x-ndjson", ndjson, cuts)] == records
    array = json.dumps(records).encode()
    assert [v for _, v in await read("application/json", array, cuts)] == records


async def test_bad_lines_are_reported_by_number_and_reading_goes_on() -> None:
    data = b'{"a": 1}\nnot json\n\n' + b'{"long": "' + b"x" * 200 + b'"}\n{"a": 2}'
    got = await read("application/x-ndjson", data, [5, 50, 120], max_line=100)
    assert [(n, isinstance(v, Malformed)) for n, v in got] == [
        (1, False),
        (2, True),
        (4, True),
        (5, False),
    ]
    assert "longer than 100 bytes" in got[2][1]
    assert got[3][1] == {"a": 2}


async def test_csv_rows_of_the_wrong_width_are_rejected_with_their_line() -> None:
    got = await read("text/csv", b"a,b\n1,2\n1,2,3\n\n4,5\n", [3])
    assert [(n, v) for n, v in got if not isinstance(v, Malformed)] == [
        (2, {"a": "1", "b": "2"}),
        (5, {"a": "4", "b": "5"}),
    ]
    assert [n for n, v in got if isinstance(v, Malformed)] == [3]


async def test_a_broken_json_array_stops_at_the_break() -> None:
    got = await read("application/json", b'[{"a": 1}, {"a": ]', [11])
    assert got[0] == (1, {"a": 1})
    assert got[1][0] == 2 and "breaks after item 1" in got[1][1]


async def test_unknown_media_types_and_non_array_json_are_refused() -> None:
    with pytest.raises(UnsupportedUpload, match="text/csv"):
        reader_for("application/xml", 100, ())
    with pytest.raises(UnsupportedUpload, match="array"):
        await read("application/json", b'{"a": 1}', [])


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(0, 10_000), max_size=30), quoted=st.booleans())
async def test_an_overlong_csv_row_is_skipped_and_the_rows_after_it_are_read(
    cuts: list[int], quoted: bool
) -> None:
    huge = ('"' + "x\n" * 300 + '"') if quoted else "x" * 600
    data = f"a,b\n1,2\n{huge},3\n4,5\n6,7\n".encode()
    got = await read("text/csv", data, cuts, max_line=200)
    good = [(n, v) for n, v in got if not isinstance(v, Malformed)]
    after = 3 + (300 if quoted else 0) + 1
    assert good == [
        (2, {"a": "1", "b": "2"}),
        (after, {"a": "4", "b": "5"}),
        (after + 1, {"a": "6", "b": "7"}),
    ]
    assert [n for n, v in got if isinstance(v, Malformed)] == [3]


async def test_csv_that_the_csv_module_refuses_is_rejected_row_by_row() -> None:
    huge = "z" * 140_000  # over the csv module's own field limit, in one chunk
    data = f"a,b\n1,2\nx\ry,3\n{huge},4\n5,6\n".encode()
    got = await read("text/csv", data, [], max_line=1_000_000)
    good = [v for _, v in got if not isinstance(v, Malformed)]
    assert {"a": "5", "b": "6"} in good and {"a": "1", "b": "2"} in good
    assert any("not CSV" in v for _, v in got if isinstance(v, Malformed))


async def test_a_row_of_endless_quoted_newlines_is_skipped_in_linear_time() -> None:
    data = b'a,b\n"' + b"\n" * 2_000_000 + b'",1\n2,3\n'
    got = await read("text/csv", data, list(range(0, len(data), 65536)), max_line=65536)
    assert got[-1] == (2_000_003, {"a": "2", "b": "3"})
    assert [n for n, v in got if isinstance(v, Malformed)] == [2]


async def test_a_long_ndjson_line_is_rejected_even_inside_one_chunk() -> None:
    data = b'{"a": "' + b"x" * 500 + b'"}\n{"a": 1}\n'
    got = await read("application/x-ndjson", data, [], max_line=100)
    assert isinstance(got[0][1], Malformed) and got[1] == (2, {"a": 1})


async def test_a_json_array_item_over_the_limit_is_refused_while_it_streams() -> None:
    """A 50 MiB item is never read whole: the reader stops asking for chunks soon after."""
    pulled = 0

    async def upload() -> AsyncIterator[bytes]:
        nonlocal pulled
        chunk = b"x" * 65536
        for piece in (b'[{"a": 1}, {"a": "', *[chunk] * 800, b'"}, {"a": 3}]'):
            pulled += 1
            yield piece

    reader = reader_for("application/json", 65536, ("a",))
    lines = [line async for line in reader(upload())]
    assert lines[0] == (1, {"a": 1})
    assert lines[1][0] == 2 and "longer than 65536 bytes" in lines[1][1]
    assert len(lines) == 2
    assert pulled <= 4, f"read {pulled} chunks of an item over the limit"


async def test_a_json_array_item_just_over_the_limit_is_rejected_and_the_rest_read() -> None:
    item = json.dumps({"a": "x" * 1000}).encode()
    data = b"[" + b",".join([b'{"a": 1}', item, b'{"a": 3}']) + b"]"
    lines = await read("application/json", data, [5, 500, 900], max_line=990)
    assert [n for n, _ in lines] == [1, 2, 3]
    assert "longer than 990 bytes" in lines[1][1] and lines[2][1] == {"a": 3}
