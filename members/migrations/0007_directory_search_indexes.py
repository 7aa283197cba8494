"""On PostgreSQL, index the folded names the member directory sorts and searches on.

The directory (members.filters) sorts by, and searches with LIKE '%…%' in,
LOWER(TRANSLATE(name, <accented letters>, <plain letters>)) and the same over
the acronym. Without these indexes every directory page folds every name in
the register (about 80 µs a row: 8 s at 100,000 organisations).

The expressions must be exactly those the filter emits; tests/test_bench.py
checks with EXPLAIN that the planner uses them. SQLite has no TRANSLATE() and
no trigram index; there the register stays small.
"""

from django.db import migrations

# The folding table of members.filters (Folded) as it stood when this migration was
# written, frozen here so that a later change to the live code cannot change what the
# migration creates. If the live table changes, the directory's expressions no longer
# match these indexes (the EXPLAIN test fails): add a migration that rebuilds them.
_FOLD_FROM = (
    "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞàáâãäåçèéê"
    "ëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĐĒēĔĕĖė"
    "ĘęĚěĜĝĞğĠġĢģĤĥĦĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŁŃńŅņŇ"
    "ňŊŌōŎŏŐőŒŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŨũŪūŬŭŮůŰűŲų"
    "ŴŵŶŷŸŹźŻżŽžſƁƂƄƆƇƉƊƋƎƏƐƑƓƔƖƗƘƜƝƟƠơƢƤƦƧƩƬ"
    "ƮƯưƱƲƳƵƷƸƼǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǢǣǤǦǧǨǩǪǫǬ"
    "ǭǮǯǰǴǵǶǷǸǹǺǻǼǽǾǿȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗ"
    "ȘșȚțȜȞȟȠȢȤȦȧȨȩȪȫȬȭȮȯȰȱȲȳȺȻȽȾɁɃɄɅɆɈɊɌɎ"
)
_FOLD_TO = (
    "aaaaaaæceeeeiiiiðnoooooøuuuuyþaaaaaaceee"
    "eiiiinooooouuuuyyaaaaaaccccccccddđeeeeee"
    "eeeegggggggghhħiiiiiiiiijjkkllllllłnnnnn"
    "nŋooooooœrrrrrrssssssssttttŧuuuuuuuuuuuu"
    "wwyyyzzzzzzsɓƃƅɔƈɖɗƌǝəɛƒɠɣɩɨƙɯɲɵooƣƥʀƨʃƭ"
    "ʈuuʊʋƴƶʒƹƽaaiioouuuuuuuuuuaaaaææǥggkkooo"
    "oʒʒjggƕƿnnaaææøøaaaaeeeeiiiioooorrrruuuu"
    "ssttȝhhƞȣȥaaeeooooooooyyⱥȼƚⱦɂƀʉʌɇɉɋɍɏ"
)

INDEXES = {
    # Directory order: ORDER BY LOWER(TRANSLATE(name, …)) LIMIT 25 walks this index.
    "members_org_name_folded_idx": "btree ({name})",
    # Directory search: LOWER(TRANSLATE(name, …)) LIKE '%needle%'.
    "members_org_name_folded_trgm": "gin ({name} gin_trgm_ops)",
    # Directory search: LOWER(TRANSLATE(acronym, …)) LIKE '%needle%'.
    "members_org_acronym_folded_trgm": "gin ({acronym} gin_trgm_ops)",
}


def _folded(column, quote):
    return f"LOWER(TRANSLATE({column}, {quote(_FOLD_FROM)}, {quote(_FOLD_TO)}))"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    quote = schema_editor.quote_value
    for name, definition in INDEXES.items():
        expression = definition.format(name=_folded('"name"', quote), acronym=_folded('"acronym"', quote))
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON members_organisation USING {expression}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("members", "0006_staff_roles_and_unaccent")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
