"""Any review text survives a CSV file in ml/: line breaks, the characters str.splitlines() also
breaks on, quotes, commas, NUL; and a training run on such reviews trains."""

from __future__ import annotations

import numpy as np
import pytest

from ml.artwork import read_labels
from ml.csvfiles import read_rows, write_rows
from ml.data import DataError, Interaction, read_interactions, read_reviews, write_interactions
from ml.sentiment import LabelledDataError, read_labelled, read_texts, train_sentiment

TRICKY = [
    "Loved it.\nWould watch again",
    "Loved it.\r\nWould watch again",
    "a lone\rcarriage return",
    "form\x0cfeed",
    "next\x85line",
    "line\u2028separator",
    "paragraph\u2029separator",
    "vertical\x0btab and\x1cfile\x1dgroup\x1erecord separators",
    'she said "fine", then left',
    "  surrounding spaces\t",
    "ends with a line break\n",
    "nul\x00inside",
    "\ufeffa byte order mark inside the text",
    "",
]


def _reviews_file(path, texts, ratings):
    # The layout recommender.snapshot writes for R.csv.
    rows = (
        [f"u{i}", f"i{i}", text, rating]
        for i, (text, rating) in enumerate(zip(texts, ratings, strict=True))
    )
    write_rows(path, ["user", "item", "text", "rating"], rows)
    return path


def test_every_text_round_trips_through_the_one_writer_and_reader(tmp_path):
    path = tmp_path / "texts.csv"
    assert write_rows(path, ["n", "text"], ([n, text] for n, text in enumerate(TRICKY))) == len(
        TRICKY
    )
    records = list(read_rows(path))
    assert records[0] == (1, ["n", "text"])
    assert [row for _, row in records[1:]] == [[str(n), t] for n, t in enumerate(TRICKY)]
    assert path.read_bytes().startswith(b"n,text\r\n")  # UTF-8, no byte order mark added


def test_reviews_keep_their_text_byte_for_byte(tmp_path):
    path = _reviews_file(tmp_path / "R.csv", TRICKY, ["5"] * len(TRICKY))
    assert [r.text for r in read_reviews(path)] == TRICKY
    texts, labels = read_labelled(path)
    assert texts == TRICKY and labels.tolist() == [1] * len(TRICKY)
    assert read_texts(path) == TRICKY


def test_ids_and_timestamps_round_trip(tmp_path):
    rows = [
        Interaction("user,1", 'item "a"\u2028', 1.5, 2.0),
        Interaction("u\n2", "b", None, 1.0),
        # Unix seconds and hours played keep every digit (the order of a history rides on them).
        Interaction("u3", "c", 964982703.0, 12.345678901),
        Interaction("u3", "d", 964982704.0, 0.1),
    ]
    write_interactions(tmp_path / "I.csv", rows)
    assert read_interactions(tmp_path / "I.csv") == rows


def test_a_spreadsheet_byte_order_mark_is_not_part_of_the_header(tmp_path):
    path = tmp_path / "R.csv"
    path.write_bytes("\ufeffuser,item,text,rating\r\nu,i,fine\u2028fine,4\r\n".encode())
    assert [r.text for r in read_reviews(path)] == ["fine\u2028fine"]


def test_uci_sentences_break_only_at_line_feeds(tmp_path):
    path = tmp_path / "amazon_cells_labelled.txt"
    path.write_bytes("Loved it\u2028truly\x85great\t1\r\nBroke\x0cin a day\t0\n".encode())
    texts, labels = read_labelled(path)
    assert texts == ["Loved it\u2028truly\x85great", "Broke\x0cin a day"]
    assert labels.tolist() == [1, 0]


def test_artwork_labels_with_odd_names(tmp_path):
    path = tmp_path / "labels.csv"
    write_rows(path, ["file", "genres"], [["a\u2028b.png", "rock|jazz"], ["c,d.png", ""]])
    assert read_labels(path) == (["a\u2028b.png", "c,d.png"], [["jazz", "rock"], []])


def test_errors_name_the_line_a_record_starts_on(tmp_path):
    path = tmp_path / "labelled.csv"
    path.write_text('text,label\n"three\nline\nreview",1\nfine,7\n', encoding="utf-8")
    with pytest.raises(LabelledDataError, match=r"labelled.csv, line 5: label '7'"):
        read_labelled(path)


def test_an_unclosed_quote_is_refused_not_swallowing_the_rows_after_it(tmp_path):
    path = tmp_path / "R.csv"
    path.write_text('user,item,text,rating\nu,a,"oops,5\nu,b,fine,4\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"R.csv, line 2: malformed CSV"):
        read_reviews(path)


def test_text_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "R.csv"
    path.write_bytes(b"user,item,text,rating\nu,i,caf\xe9,4\n")
    with pytest.raises(DataError, match="not UTF-8 text"):
        read_reviews(path)


@pytest.mark.slow
def test_sentiment_trains_on_reviews_with_any_characters(tmp_path):
    texts, ratings = [], []
    odd = ["\n", "\r\n", "\x0c", "\x85", "\u2028", "\u2029", '"', ","]
    for i in range(40):
        word = "splendid" if i % 2 else "dreadful"
        texts.append(f"the film{odd[i % len(odd)]}was {word}")
        ratings.append("5" if i % 2 else "1")
    path = _reviews_file(tmp_path / "R.csv", texts, ratings)
    read, labels = read_labelled(path)
    assert read == texts
    metrics = train_sentiment(
        read, labels, tmp_path / "model", seed=1, epochs=2, lstm_units=8, embedding_dim=8
    )
    assert np.isfinite(metrics["accuracy"])
