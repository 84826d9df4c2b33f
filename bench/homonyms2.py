"""The second homonym check set (``python bench/homonyms.py --set 2``): ten other everyday homonyms x six
sentences, two clear senses each, written as people type them (contractions, capitals, longer
sentences). Written and committed before the pipeline was ever run on it, and never used to choose
anything: an unbiased check beside the first set (which earlier sessions looked at while working).

Each sense lists the WordNet 3.0 synsets that fit it (looked up in the inventory when writing the
set; where WordNet has no sense for a common use, such as a football "pitch" or a traffic "jam",
another sense of the word was chosen instead).
"""

from __future__ import annotations

# word -> two senses, each: (acceptable WordNet 3.0 synsets, three sentences)
HOMONYMS_2: dict[str, list[tuple[set[str], list[str]]]] = {
    "bow": [({"02879718-n"}, ["She drew back the bow and let the arrow fly.",
                              "My grandpa taught me to shoot a bow when I was ten, and I've loved archery ever since.",
                              "The hunter's BOW was made of yew and had a forty pound draw."]),
            ({"02880189-n", "02880308-n"}, ["She tied a red bow on top of the present.",
                                            "Can you help me tie the bow on my daughter's dress? I can't get the "
                                            "loops even.",
                                            "The gift came wrapped in gold paper with a big satin bow."])],
    "pitch": [({"04985198-n"}, ["She has perfect pitch and can name any note she hears.",
                                "The singer's pitch was a bit flat in the second verse, wasn't it?",
                                "Tighten the string to raise its pitch."]),
              ({"07248653-n"}, ["His sales pitch was so smooth I almost bought two vacuum cleaners.",
                                "We've got ten minutes to make our pitch to the investors tomorrow, so don't be late.",
                                "The salesman launched into his pitch before I'd even said hello."])],
    "plant": [({"00017222-n"}, ["Don't forget to water the plant on the kitchen windowsill.",
                                "This plant needs lots of sunlight or its leaves turn yellow.",
                                "I bought a tomato plant at the garden centre yesterday."]),
              ({"03956922-n"}, ["The car plant laid off 500 workers last month.",
                                "They're building a new power plant just outside town and everyone's worried about "
                                "the smoke.",
                                "He's worked at the steel plant for thirty years."])],
    "pen": [({"03906997-n"}, ["Can I borrow your pen? Mine's run out of ink.",
                              "Sign here with a blue or black pen, please.",
                              "He clicked his pen nervously during the whole interview."]),
            ({"03907227-n"}, ["The farmer drove the sheep into the pen for the night.",
                              "The pigs escaped from their pen and got into the vegetable garden.",
                              "We built a small pen so the goats couldn't wander off."])],
    "jam": [({"07642933-n"}, ["I spread strawberry jam on my toast every morning.",
                              "My gran's homemade apricot jam is the best I've ever had.",
                              "Could you pass the jam? There's none left on my side."]),
            ({"14409489-n"}, ["I'm in a bit of a jam, could you lend me twenty quid till Friday?",
                              "She got herself into a real jam when she double-booked the venue.",
                              "Thanks for helping us out of that jam last week, we owe you one."])],
    "fan": [({"03320046-n"}, ["Turn on the fan, it's boiling in here.",
                              "The ceiling fan makes a clicking noise when it spins fast.",
                              "My laptop's fan is really loud when I play games."]),
            ({"10639925-n", "10077593-n"}, ["He's been a huge Liverpool fan since he was a kid.",
                                            "Thousands of fans waited outside the stadium for autographs.",
                                            "I'm not a big fan of horror movies, honestly."])],
    "tank": [({"04389033-n"}, ["The tank rolled through the streets of the city.",
                               "Soldiers hid behind a burnt-out tank during the battle.",
                               "The army sent tanks and artillery to the border."]),
             ({"04388743-n"}, ["Fill up the tank before we get on the highway.",
                               "Our fish tank needs cleaning, the water's gone green.",
                               "The water tank on the roof leaks when it rains."])],
    "trunk": [({"13165815-n"}, ["The old oak's trunk was too wide for two people to wrap their arms around.",
                                "Someone carved their initials into the trunk of the birch.",
                                "Woodpeckers had drilled holes all up the trunk."]),
              ({"03696065-n"}, ["Put the groceries in the trunk, the back seat's full.",
                                "I can't close the trunk with all these suitcases in it.",
                                "He keeps a spare tire and jumper cables in his trunk."])],
    "bolt": [({"11519121-n"}, ["A bolt of lightning struck the church tower last night.",
                               "The bolt lit up the whole sky just before the thunder.",
                               "Lightning bolts flashed over the hills during the storm."]),
             ({"02865665-n"}, ["Tighten the bolt with a wrench until it won't turn anymore.",
                               "One bolt was missing, so the shelf wobbled whenever I touched it.",
                               "You'll need a nut and bolt to attach the bracket."])],
    "club": [({"08227214-n"}, ["I joined the chess club at school this year.",
                               "The book club meets every Thursday at Sarah's place.",
                               "Our running club's got over a hundred members now."]),
             ({"03446070-n"}, ["He pulled a club out of his bag and lined up the shot.",
                               "She swung the club and the ball landed right on the green.",
                               "I'm saving up for a new set of golf clubs."])],
}
