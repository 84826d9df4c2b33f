"""Sanity check on ten everyday homonyms, sentences written for this check (not from WordNet).

NEVER used to choose anything: every weight and threshold is fitted on WordNet dev lemmas by
``lexiflow eval senses --wordnet``. This only reports how the shipped pipeline does on plain
sentences: per word, ``/v1/senses/compare``'s grouping (k automatic) against the intended two
senses (adjusted Rand index, exactly right or not), and whether each sentence's most probable
WordNet sense is one of the synsets that fit the intended sense.

    PYTHONPATH=$PWD python bench/homonyms.py [--set 1|2|3] [--json]

``--set 2`` runs the second set (``bench/homonyms2.py``: ten other words, sentences typed as people
type them), written after the first set had been looked at and before anything was run on it;
``--set 3`` the third (``bench/homonyms3.py``), written the same way in session 6.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# word -> two senses, each: (acceptable WordNet 3.0 synsets, three sentences)
HOMONYMS: dict[str, list[tuple[set[str], list[str]]]] = {
    "bat": [({"02139199-n"}, ["A bat flew out of the cave at dusk.",
                              "The bat hangs upside down while it sleeps.",
                              "Fruit bats eat mangoes and figs in the tropics."]),
            ({"03132076-n", "02806379-n", "04292414-n"}, ["He swung the bat and hit the ball over the fence.",
                                                          "She bought a new cricket bat made of willow.",
                                                          "The batter gripped his wooden bat tightly."])],
    "bass": [({"07777945-n", "07777512-n", "02565573-n"}, ["We caught a large bass in the lake this morning.",
                                                           "Grilled sea bass with lemon is on the menu.",
                                                           "The bass swam near the bottom of the pond."]),
             ({"04986796-n", "07032292-n", "09842528-n", "06872354-n", "02803349-n"},
              ["He plays the bass in a jazz band.", "Turn down the bass on the stereo, the walls are shaking.",
               "The choir needs another bass to sing the low notes."])],
    "crane": [({"02012849-n"}, ["A crane stood on one leg in the marsh.",
                                "The crane spread its wings and flew over the wetland.",
                                "Cranes migrate south in large flocks every autumn."]),
              ({"03126707-n"}, ["The crane lifted the steel beam onto the roof.",
                                "A tall crane towered over the construction site.",
                                "The operator climbed into the cab of the crane."])],
    "mole": [({"01889520-n"}, ["A mole dug tunnels all over our lawn.",
                               "The mole has tiny eyes and large digging claws.",
                               "Moles eat earthworms and insects underground."]),
             ({"04693804-n"}, ["The doctor checked the mole on her shoulder.",
                               "He has a small brown mole on his cheek.",
                               "Any mole that changes shape should be examined by a dermatologist."])],
    "seal": [({"02076196-n"}, ["A seal was sunbathing on the rocks by the harbour.",
                               "The seal dived into the icy water to catch a fish.",
                               "Seals and sea lions gathered on the beach."]),
             ({"04159058-n", "06855985-n"}, ["The king pressed his seal into the hot wax.",
                                             "The document bears the official seal of the university.",
                                             "The notary stamped the certificate with her seal."])],
    "bark": [({"13162297-n"}, ["The bark of the old oak was rough and cracked.",
                               "Deer had stripped the bark from the young trees.",
                               "Cinnamon is made from the dried bark of a tree."]),
             ({"07376621-n", "07376731-n"}, ["The dog's loud bark woke the whole house.",
                                             "We heard a sharp bark from the neighbour's yard.",
                                             "The puppy's bark is worse than its bite."])],
    "match": [({"03728437-n", "03728982-n"}, ["He struck a match to light the candle.",
                                              "The box of matches got wet in the rain.",
                                              "She lit the campfire with a single match."]),
              ({"07470671-n"}, ["The tennis match lasted almost four hours.",
                                "Our team won the football match on Saturday.",
                                "Tickets for the final match sold out in minutes."])],
    "bank": [({"09213565-n"}, ["We had a picnic on the grassy bank of the river.",
                               "The fisherman sat on the muddy bank and watched the stream.",
                               "Floodwater rose over the bank and into the fields."]),
             ({"08420278-n", "02787772-n"}, ["I deposited my salary at the bank this morning.",
                                             "The bank raised its interest rates on loans again.",
                                             "She applied for a mortgage at her local bank."])],
    "spring": [({"15237044-n"}, ["The cherry trees blossom every spring.",
                                 "We plan to repaint the house in the spring.",
                                 "Spring came early this year and the snow melted in March."]),
               ({"04288272-n"}, ["The mattress has a broken spring that pokes my back.",
                                 "A small steel spring pushes the button back up.",
                                 "The clock stopped because its spring was wound too tight."])],
    "palm": [({"05565696-n"}, ["She held the tiny bird in the palm of her hand.",
                               "The fortune teller read the lines on his palm.",
                               "My palms get sweaty before an exam."]),
             ({"12582231-n"}, ["Coconut palms lined the sandy beach.",
                               "A tall palm swayed in the tropical breeze.",
                               "They rested in the shade of a date palm."])],
}


def run(comparer, homonyms: dict[str, list[tuple[set[str], list[str]]]] | None = None  # noqa: ANN001
        ) -> dict[str, object]:
    from sklearn.metrics import adjusted_rand_score

    rows = []
    for word, senses in (HOMONYMS if homonyms is None else homonyms).items():
        sentences = [s for _, group in senses for s in group]
        truth = [k for k, (_, group) in enumerate(senses) for _ in group]
        allowed = [ok for ok, group in senses for _ in group]
        t0 = time.perf_counter()
        c = comparer.compare(word, sentences)
        ms = (time.perf_counter() - t0) * 1000
        first = {o.sentence: i for i, o in reversed(list(enumerate(c.occurrences)))}
        group_of = {i: s.id for s in c.senses for i in s.occurrences}
        pred = [group_of[first[k]] for k in range(len(sentences))]
        top = [c.occurrences[first[k]].sense for k in range(len(sentences))]
        right = [t is not None and t.synset in ok for t, ok in zip(top, allowed)]
        ari = float(adjusted_rand_score(truth, pred))
        rows.append({"word": word, "ari": round(ari, 4), "exact": ari > 0.999, "groups": len(c.senses),
                     "top_sense_right": sum(right), "sentences": len(sentences), "ms": round(ms),
                     "group_senses": [s.sense.synset if s.sense else None for s in c.senses],
                     "wrong": [f"{sentences[k]!r} -> {top[k].synset if top[k] else None} "
                               f"({top[k].gloss[:50] if top[k] else ''})" for k in range(len(sentences))
                               if not right[k]]})
    n_sent = sum(r["sentences"] for r in rows)
    return {"rows": rows, "mean_ari": round(sum(r["ari"] for r in rows) / len(rows), 4),
            "exact": sum(r["exact"] for r in rows), "words": len(rows),
            "top_sense_accuracy": round(sum(r["top_sense_right"] for r in rows) / n_sent, 4)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--set", type=int, choices=(1, 2, 3), default=1,
                   help="1: the first ten words (default); 2: bench/homonyms2.py; 3: bench/homonyms3.py")
    args = p.parse_args(argv)
    import torch

    from pipelines import load_pipelines
    from service.settings import Settings

    torch.set_num_threads(1)
    pipelines = load_pipelines(Settings(tasks=["senses"], lemmatize_engines=["rule"]).load_plan())
    if args.set in (2, 3):
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from homonyms2 import HOMONYMS_2
        from homonyms3 import HOMONYMS_3

        out = run(pipelines.senses, HOMONYMS_2 if args.set == 2 else HOMONYMS_3)
    else:
        out = run(pipelines.senses)
    out["set"] = args.set
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print("| word | groups | ARI | exact | top sense right | ms |\n|---|---:|---:|---|---:|---:|")
    for r in out["rows"]:
        print(f"| {r['word']} | {r['groups']} | {r['ari']:.2f} | {'yes' if r['exact'] else 'no'} | "
              f"{r['top_sense_right']}/{r['sentences']} | {r['ms']} |")
    print(f"\nmean ARI {out['mean_ari']:.3f}; exactly right {out['exact']}/{out['words']}; "
          f"top WordNet sense right {out['top_sense_accuracy']:.1%}")
    for r in out["rows"]:
        for w in r["wrong"]:
            print(f"  {r['word']}: {w}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
