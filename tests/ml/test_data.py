"""Reading I.csv and R.csv: ids kept as given, optional fields, errors that name the line."""

from __future__ import annotations

import pytest

from ml.data import DataError, Interaction, encode, read_interactions, read_reviews, user_histories


def write(path, text):
    path.write_text(text)
    return path


def test_interactions_keep_string_ids_and_optional_fields(tmp_path):
    path = write(
        tmp_path / "I.csv",
        "user,item,timestamp,weight\n007,tt01,5,\n007,0042,,3.5\nbob,tt01,1.5,2\n",
    )
    rows = read_interactions(path)
    assert rows == [
        Interaction("007", "tt01", 5.0, 1.0),
        Interaction("007", "0042", None, 3.5),
        Interaction("bob", "tt01", 1.5, 2.0),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("user,item\n", "line 1: header must be user,item,timestamp,weight"),
        ("user,item,timestamp,weight\na,b,1,1\na,c,yesterday,1\n", "line 3: timestamp 'yesterday'"),
        ("user,item,timestamp,weight\na,b,1,-2\n", "line 2: weight '-2' is negative"),
        ("user,item,timestamp,weight\na,b,1\n", "line 2: expected 4 fields, found 3"),
        ("user,item,timestamp,weight\n,b,1,1\n", "line 2: user is empty"),
        ("user,item,timestamp,weight\na,b,nan,1\n", "line 2: timestamp 'nan' is not a finite"),
        ("", "empty file"),
    ],
)
def test_malformed_interactions_name_the_line(tmp_path, body, message):
    path = write(tmp_path / "I.csv", body)
    with pytest.raises(DataError, match=message) as info:
        read_interactions(path)
    assert str(path) in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="cannot open"):
        read_interactions(tmp_path / "nope.csv")


def test_reviews(tmp_path):
    path = write(
        tmp_path / "R.csv",
        'user,item,text,rating\nu1,i1,"Loved it, truly",5\nu2,i1,meh,\n',
    )
    reviews = read_reviews(path)
    assert [(r.user, r.text, r.rating) for r in reviews] == [
        ("u1", "Loved it, truly", 5.0),
        ("u2", "meh", None),
    ]
    bad = write(tmp_path / "bad.csv", "user,item,text,rating\nu1,i1,ok,five\n")
    with pytest.raises(DataError, match="line 2: rating 'five'"):
        read_reviews(bad)


def test_histories_order_by_time_and_merge_repeats():
    rows = [
        Interaction("u", "b", 20.0),
        Interaction("u", "a", 10.0),
        Interaction("u", "b", 30.0, 2.0),
        Interaction("u", "c", None, 5.0),
        Interaction("u", "d", None, 1.0),
    ]
    history = user_histories(rows)["u"]
    # Untimed rows first, lightest first; then by time; the repeat of b merges into one row.
    assert [(r.item, r.weight) for r in history] == [("d", 1), ("c", 5), ("a", 1), ("b", 3)]
    seqs = encode(rows)
    assert seqs.items == ["a", "b", "c", "d"]
    assert seqs.histories == [[3, 2, 0, 1]]
    assert seqs.ordered == [False]
