"""The third homonym check set (``python bench/homonyms.py --set 3``): ten more everyday homonyms x six
sentences, two clear senses each, written as people type them. Written and committed (session 6)
before any change of that session was run on it, and never used to choose anything: the unbiased
check of the changes made then (sets 1 and 2 had been looked at in earlier sessions).

Each sense lists the WordNet 3.0 synsets that fit it, looked up in the inventory when writing the set.
"""

from __future__ import annotations

# word -> two senses, each: (acceptable WordNet 3.0 synsets, three sentences)
HOMONYMS_3: dict[str, list[tuple[set[str], list[str]]]] = {
    "mouse": [({"02330245-n"}, ["We've got a mouse living behind the fridge, I saw it run across the floor last night.",
                                "The cat caught a mouse and left it on the doormat.",
                                "A little field mouse was nibbling the seeds in the shed."]),
              ({"03793489-n"}, ["My mouse stopped working, so I can't click on anything.",
                                "Plug the wireless mouse into the USB port and move the cursor to the icon.",
                                "He bought a gaming mouse with extra buttons on the side."])],
    "bug": [({"02236355-n", "02236896-n"}, ["There's a bug crawling up the wall, can you get rid of it?",
                                            "The kids collected beetles and other bugs in a jar.",
                                            "A tiny green bug landed on my arm while we were hiking."]),
            ({"14464675-n"}, ["The new update has a bug that crashes the app on startup.",
                              "We spent all afternoon tracking down a bug in the payment code.",
                              "Please report the bug on GitHub with steps to reproduce it."])],
    "ring": [({"04092609-n"}, ["He got down on one knee and gave her a diamond ring.",
                               "I lost my wedding ring while swimming in the sea.",
                               "She wears a silver ring on her thumb."]),
             ({"04092959-n"}, ["The boxers climbed into the ring for the final round.",
                               "The wrestler threw his opponent out of the ring and the crowd went wild.",
                               "After twelve rounds in the ring, both fighters could barely stand."])],
    "nail": [({"05581693-n"}, ["She painted her nails bright red for the party.",
                               "I broke a nail trying to open the can.",
                               "Stop biting your nails, it's a bad habit."]),
             ({"03804744-n"}, ["Hammer the nail into the wall so we can hang the picture.",
                               "He stepped on a rusty nail and needed a tetanus shot.",
                               "You'll need a box of nails and some glue to fix the fence."])],
    "chip": [({"07712559-n"}, ["She ate a whole bag of salt and vinegar chips watching the film.",
                               "Can you grab some chips and salsa for the party?",
                               "I dropped a potato chip on the sofa."]),
             ({"03020034-n"}, ["The new phone has a faster chip and a better camera.",
                               "There's a global shortage of computer chips, so car production slowed down.",
                               "Intel makes the chip that runs most of these laptops."])],
    "letter": [({"06624161-n"}, ["I got a letter from my grandmother in the post today.",
                                 "She wrote him a long letter apologising for what she'd said.",
                                 "Don't forget to put a stamp on the letter before you mail it."]),
               ({"06828818-n"}, ["The word starts with the letter B.",
                                 "Your password needs at least one capital letter and a number.",
                                 "There are twenty-six letters in the English alphabet."])],
    "organ": [({"05297523-n"}, ["The heart is the organ that pumps blood around the body.",
                                "He donated a kidney, and organ donors save thousands of lives every year.",
                                "The liver is the largest internal organ."]),
              ({"03854065-n", "03273551-n", "03494537-n"}, ["She played the organ at the church every Sunday.",
                                                            "The cathedral's huge pipe organ filled the hall with "
                                                            "music.",
                                                            "He's learning Bach's toccata on the organ."])],
    "ruler": [({"10541229-n"}, ["The ruler of the kingdom was a cruel and greedy man.",
                                "Genghis Khan was one of history's most feared rulers.",
                                "The country's new ruler promised elections within a year."]),
              ({"04118776-n"}, ["Use a ruler to draw a straight line under the title.",
                                "Can I borrow your ruler? I need to measure this page.",
                                "The ruler in my pencil case is 30 cm long."])],
    "scale": [({"04141975-n", "04141838-n"}, ["Put the flour on the kitchen scale and weigh out 200 grams.",
                                              "I stepped on the bathroom scale and I've lost two kilos!",
                                              "The butcher put the meat on the scale and read out the price."]),
              ({"01902877-n"}, ["The fish's scales shimmered silver in the sunlight.",
                                "Scrape the scales off the salmon before you cook it.",
                                "Snakes shed their skin, but each scale is made of keratin."])],
    "pupil": [({"10665698-n", "10559288-n"}, ["The teacher asked every pupil to read a poem aloud.",
                                              "The school has about six hundred pupils.",
                                              "She was his best pupil, always top of the class."]),
              ({"05320183-n"}, ["The doctor shone a light in his eyes to check his pupils.",
                                "Her pupils were dilated after the eye drops.",
                                "In the dark the pupil widens to let in more light."])],
}
