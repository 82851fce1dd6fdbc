"""Function words of English and French that say nothing about a passage's content:
attribution (chat/attribution.py) never counts them as evidence. Lower case only."""

from __future__ import annotations

ENGLISH = """
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing done down during each either
else even ever every few for from further get gets got had has have having he her here hers
herself him himself his how however i if in into is it its itself just know let like made
make many may me might more most much must my myself no nor not now of off often on once
one only or other our ours ourselves out over own per please really same say says see she
should since so some such sure than thank thanks that the their theirs them themselves then
there these they this those though through thus to too under until up upon us use used very
was we well were what when where whether which while who whom whose why will with within
without would yes yet you your yours yourself yourselves answer answers question source
sources according based given text passage document documents information
"""

FRENCH = """
à au aux avec ce ces cet cette dans de des du elle elles en est et être eu il ils je la le
les leur leurs lui ma mais me même mes moi mon ne ni nos notre nous on ont ou où par pas
pour qu que qui sa se ses si son sont sur ta te tes toi ton tu un une vos votre vous été
était étaient avait avoir fait plus selon oui non
"""

STOP_WORDS: frozenset[str] = frozenset((ENGLISH + FRENCH).split())
