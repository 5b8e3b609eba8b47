"""`textgru datasets`: the built-in datasets (they load with no internet)."""

import json


def add_to(commands, argv):
    """`textgru datasets`."""
    listing = commands.add_parser(
        "datasets", help="list the built-in datasets (they load with no internet)"
    )
    listing.add_argument(
        "--json", action="store_true", help="print one JSON object per dataset"
    )


def needs_backend(args):
    return False


def run(args):
    from textgru.data.catalog import data_home, is_cached, list_datasets

    rows = [
        {
            "name": spec.name,
            "task": spec.task,
            "texts": spec.num_texts,
            "labels": list(spec.labels),
            "cached": is_cached(spec.name),
            "source": spec.source,
            "description": spec.description,
        }
        for spec in list_datasets()
    ]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    print(f"{'name':<16} {'task':<18} {'texts':>6}  {'cached':<6}  description")
    for row in rows:
        cached = "yes" if row["cached"] else "no"
        print(
            f"{row['name']:<16} {row['task']:<18} {row['texts']:>6}  {cached:<6}  "
            f"{row['description']} [{row['source']}]"
        )
    print(f"\ndata home: {data_home()} (set TEXTGRU_HOME to move it)")
