"""console.confusables: skeletons, scripts and collision grouping."""

from __future__ import annotations

import time

from console.confusables import (
    find_confusable_pairs,
    is_mixed_script,
    script_of,
    scripts,
    skeleton,
)


def test_cyrillic_and_greek_lookalikes_collide_with_latin() -> None:
    assert skeleton("аdmin") == skeleton("admin")  # Cyrillic а
    assert skeleton("rооt") == skeleton("root")  # Cyrillic о
    assert skeleton("ΑΡΕ") == skeleton("ape")  # Greek capitals
    assert skeleton("НЕLLО") == skeleton("hello")  # Cyrillic capitals
    assert skeleton("ѕсоре") == skeleton("scope")
    assert skeleton("ραγ") == skeleton("pay")


def test_digit_letter_and_multi_letter_swaps() -> None:
    assert skeleton("r00t") == skeleton("root")
    assert skeleton("adm1n") == skeleton("admln")
    assert skeleton("5ecur3") == skeleton("secure")
    assert skeleton("adrnin") == skeleton("admin")
    assert skeleton("vvalter") == skeleton("walter")


def test_compatibility_case_and_invisible_folding() -> None:
    assert skeleton("ｒｏｏｔ") == "root"  # fullwidth
    assert skeleton("𝐫𝐨𝐨𝐭") == "root"  # mathematical bold
    assert skeleton("ROOT") == skeleton("root")
    assert skeleton("ro\u200bot") == "root"  # zero-width space ignored
    assert skeleton("ro\u202eot") == "root"  # bidi override ignored


def test_distinct_names_stay_distinct() -> None:
    assert skeleton("alice") != skeleton("bob")
    assert skeleton("root") != skeleton("rooter")
    assert skeleton("José") != skeleton("Jose")  # diacritics are visible: not folded


def test_scripts() -> None:
    assert scripts("admin") == {"LATIN"}
    assert scripts("аdmin") == {"LATIN", "CYRILLIC"}
    assert scripts("αβγ") == {"GREEK"}
    assert scripts("山田") == {"HAN"}
    assert scripts("123-_.") == set()
    assert script_of("ｒ") == "LATIN"
    assert script_of("𝐫") == "LATIN"


def test_mixed_script() -> None:
    assert is_mixed_script("аdmin")
    assert is_mixed_script("Alice Smіth")  # Cyrillic і inside a Latin word
    assert not is_mixed_script("Иван Petrov")  # different scripts in different words
    assert not is_mixed_script("admin")
    assert not is_mixed_script("山田たろう")  # Han + Hiragana is normal Japanese
    assert not is_mixed_script("")


def test_find_confusable_pairs_groups_ids() -> None:
    items = [(1, "root"), (2, "alice"), (3, "r00t"), (4, "rооt"), (5, "bob"), (6, ""), (7, "")]
    pairs = find_confusable_pairs(items)
    assert pairs == {1: [3, 4], 3: [1, 4], 4: [1, 3]}
    assert 6 not in pairs  # empty strings never collide


def test_find_confusable_pairs_limit_and_scale() -> None:
    many = [(i, "Bot") for i in range(1, 1001)]
    pairs = find_confusable_pairs(many, limit=5)
    assert pairs[1] == [2, 3, 4, 5, 6]
    assert pairs[1000] == [1, 2, 3, 4, 5]
    names = [(i, f"user{i}") for i in range(100_000)] + [(100_000, "user1O")]
    t0 = time.perf_counter()
    found = find_confusable_pairs(names)
    elapsed = time.perf_counter() - t0
    print(f"find_confusable_pairs over 100,001 usernames: {elapsed * 1000:.0f} ms")
    # user10 and user1O (capital letter O) collide; nothing else does
    assert found == {10: [100_000], 100_000: [10]}
