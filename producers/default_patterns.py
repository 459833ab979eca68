"""The shipped pattern list: scored rules for a public contact address.

Written for the mail such an address gets (recruiters, contact requests, replies)
against the spam it attracts: no single word rejects; a mail is rejected when
several signs add up to the threshold (5). Scores were set on the training groups
of the public SpamAssassin corpus (``easy-ham-1``, ``spam-1``) only; ``make bench``
reports the held-out groups. Rules that also fire on ham (a salary figure, "click
here", an opt-in footer) carry small scores so that alone they never reject; a reply
in an existing thread (``In-Reply-To``) counts against spam.
"""

from __future__ import annotations

from typing import Any

DEFAULT_THRESHOLD = 5.0

_TEXT = ["subject", "body"]

DEFAULT_PATTERNS: list[dict[str, Any]] = [
    # --- offers that only spam makes ------------------------------------------------
    {
        "id": "pharma",
        "score": 3.0,
        "fields": _TEXT,
        "flags": "i",
        "describe": "names a drug sold by spam",
        "pattern": r"\b(?:viagra|cialis|levitra|tramadol|xanax|valium|phentermine|vicodin|propecia)\b",
    },
    {
        "id": "body-enhancement",
        "score": 2.5,
        "fields": _TEXT,
        "flags": "i",
        "describe": "weight loss, enlargement or anti-ageing cure",
        "pattern": r"\b(?:lose (?:up to )?\d+ (?:pounds|lbs)|weight loss (?:pill|formula|program|breakthrough)|"
        r"diet pills?|penis|enlargement|human growth hormone|\bhgh\b|anti[- ]aging (?:formula|pill))\b",
    },
    {
        "id": "casino",
        "score": 3.0,
        "fields": _TEXT,
        "flags": "i",
        "describe": "gambling offer",
        "pattern": r"\b(?:online casino|casino bonus|free spins|welcome bonus|play (?:slots|blackjack|roulette))\b",
    },
    {
        "id": "adult",
        "score": 2.5,
        "fields": _TEXT,
        "flags": "i",
        "describe": "adult content offer",
        "pattern": r"\b(?:xxx|hardcore|barely legal|live (?:sex|girls|webcams?)|adult (?:sites?|dvds?|videos?|"
        r"entertainment)|hot (?:teens|singles))\b",
    },
    {
        "id": "prize",
        "score": 2.0,
        "fields": _TEXT,
        "flags": "i",
        "describe": "announces a prize or lottery win",
        "pattern": r"\b(?:claim your (?:prize|reward|winnings)|bitcoin prize|free iphone|lottery (?:winner|draw|"
        r"program|board)|you (?:have|'ve) been (?:selected|chosen) (?:to receive|as (?:a|the) winner)|"
        r"winning (?:ticket|number)s?)\b",
    },
    {
        "id": "lottery",
        "score": 2.5,
        "fields": _TEXT,
        "flags": "i",
        "describe": "a lottery win to claim",
        "pattern": r"\b(?:international lottery|lottery (?:prize|award|promotion)|claims? agent|"
        r"process your (?:winnings|claim|prize)|won (?:the sum of )?(?:eur|usd|gbp|us\s?\$|\$|€|£)\s?\d)",
    },
    {
        "id": "crypto-giveaway",
        "score": 4.0,
        "fields": _TEXT,
        "flags": "i",
        "describe": "crypto giveaway scam",
        "pattern": r"\b(?:crypto giveaway|double your (?:bitcoin|btc|crypto|money)|wallet (?:address )?was selected)\b",
    },
    {
        "id": "advance-fee",
        "score": 3.0,
        "fields": _TEXT,
        "flags": "i",
        "describe": "advance-fee fraud wording",
        "pattern": r"\b(?:next of kin|strictest confidence|(?:us|u\.s\.)\s?\$\s?\d+(?:[.,]\d+)?\s?(?:m|million)\b|"
        r"transfer (?:of )?(?:the )?(?:sum|funds?) (?:of|into)|foreign (?:partner|account)|"
        r"(?:late|deceased) (?:husband|father|client)|barrister|beneficiary of)",
    },
    {
        "id": "loans",
        "score": 2.0,
        "fields": _TEXT,
        "flags": "i",
        "describe": "mortgage, credit or debt offer",
        "pattern": r"\b(?:refinanc\w*|mortgage (?:rates?|loans?|quotes?)|debt consolidation|lowest (?:rates?|"
        r"prices?|interest)|(?:eliminate|reduce|consolidate) (?:your )?(?:credit card )?debts?|"
        r"credit (?:rating|repair|report)|pre-?approved|low interest)\b",
    },
    {
        "id": "make-money",
        "score": 2.0,
        "fields": _TEXT,
        "flags": "i",
        "describe": "get-rich offer",
        "pattern": r"\b(?:make money|earn (?:up to )?\$\s?\d|extra (?:cash|income)|work(?:ing)? from home|"
        r"financial freedom|be your own boss|home[- ]based business|(?:residual|passive) income|"
        r"multi-?level marketing|\$\d[\d,]* (?:per|a) (?:week|day|month) from)\b",
    },
    {
        "id": "bulk-mailing",
        "score": 2.5,
        "fields": _TEXT,
        "flags": "i",
        "describe": "sells mailing lists or bulk mail",
        "pattern": r"\b(?:bulk e-?mail(?:ing|er)?|million (?:e-?mail )?addresses|e-?mail (?:marketing|addresses) "
        r"(?:software|list)|targeted e-?mail|mass e-?mail)\b",
    },
    # --- how spam talks --------------------------------------------------------------
    {
        "id": "not-spam-claim",
        "score": 3.5,
        "fields": ["body"],
        "flags": "i",
        "describe": "claims not to be spam or cites an anti-spam bill",
        "pattern": r"\b(?:this (?:e-?mail|message|mailing) is (?:not|never) (?:spam|unsolicited)|this is not (?:a )?spam|"
        r"(?:bill|section) s?\.? ?1618|s\. ?1618|section 301|cannot be considered spam)",
    },
    {
        "id": "remove-instructions",
        "score": 3.0,
        "fields": ["body"],
        "flags": "i",
        "describe": "asks to reply with REMOVE to leave its list",
        "pattern": r"\b(?:reply|respond|e-?mail us|send (?:a|an|blank) (?:e-?mail|message)) (?:\w+ ){0,4}"
        r"(?:with |and (?:type|put) )?[\"'(\[]?remove\b|\bremove\b[\"')\]]? (?:in|as) the subject|"
        r"to be removed from (?:our|this|any|future)|(?:one[- ]time|single) (?:e-?mail|mailing)",
    },
    {
        "id": "opt-in-claim",
        "score": 1.5,
        "fields": ["body"],
        "flags": "i",
        "describe": "says the recipient opted in",
        "pattern": r"\b(?:you (?:are receiving|received|get) this (?:e-?mail|message|mailing|offer) because you|"
        r"opt-?in (?:list|e-?mail|subscriber)|you (?:have )?(?:opted|signed up|agreed) to receive)",
    },
    {
        "id": "act-now",
        "score": 1.5,
        "fields": _TEXT,
        "flags": "i",
        "describe": "pushes to act at once",
        "pattern": r"\b(?:act now|order now|order today|buy now|limited time (?:only|offer)|offer expires|"
        r"don'?t delay|while supplies last|call (?:now|today|toll[- ]free)|apply now|"
        r"(?:urgent|immediate) (?:response|reply|attention) (?:is )?(?:needed|required))\b",
    },
    {
        "id": "free-offer",
        "score": 1.5,
        "fields": _TEXT,
        "flags": "i",
        "describe": "free, guaranteed, no risk",
        "pattern": r"(?:\b100% (?:free|guaranteed|satisfaction|natural)|\babsolutely free\b|\brisk[- ]free\b|"
        r"\bno (?:obligation|hidden (?:costs?|fees))|\bmoney[- ]back guarantee|\bfree (?:trial|gift|bonus|quote|"
        r"consultation|info(?:rmation)?|membership|access)\b)",
    },
    {
        "id": "dear-stranger",
        "score": 1.5,
        "fields": ["body"],
        "flags": "im",
        "describe": "greets no one by name",
        "pattern": r"^dear (?:friend|sir|madam|sir/madam|sir or madam|valued (?:customer|member)|beneficiary|"
        r"winner|e-?mail user|account holder)s?\b",
    },
    {
        "id": "percent-off",
        "score": 1.0,
        "fields": _TEXT,
        "flags": "i",
        "describe": "a big discount",
        "pattern": r"\b(?:save|up to|get) \d{2}% (?:off|on)\b|\b[5-9]\d% off\b",
    },
    {
        "id": "click-here",
        "score": 0.5,
        "fields": ["body", "rawbody"],
        "flags": "i",
        "describe": "click here",
        "pattern": r"\bclick (?:here|below|the link)\b",
    },
    {
        "id": "toll-free",
        "score": 0.8,
        "fields": ["body"],
        "flags": "",
        "describe": "a US toll-free number",
        "pattern": r"\b1[- .(]*8(?:00|88|77|66)\)?[- .]\d{3}[- .]\d{4}\b",
    },
    {
        "id": "money-figure",
        "score": 0.5,
        "fields": _TEXT,
        "flags": "",
        "describe": "large dollar amounts",
        "pattern": r"\$\s?\d{1,3}(?:,\d{3}){1,}(?:\.\d\d)?(?!\s?(?:-|to)\s?\$?\d)",
    },
    {"id": "money-signs", "score": 1.5, "fields": _TEXT, "flags": "", "describe": "$$$", "pattern": r"\$\$\$"},
    # --- shape of the mail ------------------------------------------------------------
    {
        "id": "subject-ad",
        "score": 3.0,
        "fields": ["subject"],
        "flags": "i",
        "describe": "subject tagged as an ad",
        "pattern": r"^\s*[\[(]?\s*adv?\s*[\]):]",
    },
    {
        "id": "subject-shouting",
        "score": 1.5,
        "fields": ["subject"],
        "flags": "",
        "describe": "subject in capitals",
        "pattern": r"^(?=[^a-z]*$)(?=(?:[^A-Z]*[A-Z]){8})",
    },
    {
        "id": "subject-exclaim",
        "score": 1.0,
        "fields": ["subject"],
        "flags": "",
        "describe": "subject with !! or $",
        "pattern": r"!!|\$\d|^\s*free\b|\bfree!",
    },
    {
        "id": "subject-spacer",
        "score": 1.0,
        "fields": ["subject"],
        "flags": "",
        "describe": "subject padded to dodge filters",
        "pattern": r"\s{6,}\S+$|[ \t][-_.=*~]{3,}\s*\S+$|\s#?\d{3,6}\s*$",
    },
    {
        "id": "html-only",
        "score": 0.8,
        "fields": ["header:Content-Type"],
        "flags": "i",
        "describe": "the mail is HTML only",
        "pattern": r"^\s*text/html",
    },
    {
        "id": "html-font-tricks",
        "score": 0.7,
        "fields": ["rawbody"],
        "flags": "i",
        "describe": "big or hidden HTML fonts",
        "pattern": r"<font[^>]+(?:size\s*=\s*[\"']?\+?[5-7]|color\s*=\s*[\"']?#?(?:ff0000|ffffff|red|white)\b)",
    },
    {
        "id": "to-undisclosed",
        "score": 1.0,
        "fields": ["header:To"],
        "flags": "i",
        "describe": "no visible recipient",
        "pattern": r"undisclosed|recipient list suppressed|^\s*$",
    },
    {
        "id": "numeric-link",
        "score": 1.0,
        "fields": ["uri"],
        "flags": "im",
        "describe": "a link to a bare IP address",
        "pattern": r"^https?://\d+\.\d+\.\d+\.\d+(?:[:/?]|$)",
    },
    {
        "id": "unsubscribe-link",
        "score": 0.5,
        "fields": ["uri"],
        "flags": "im",
        "describe": "a link to leave a list",
        "pattern": r"remove|unsubscribe|opt-?out",
    },
    # --- signs of a real conversation ---------------------------------------------------
    {
        "id": "reply-in-thread",
        "score": -1.5,
        "fields": ["header:In-Reply-To"],
        "flags": "",
        "describe": "answers an earlier message",
        "pattern": r"<[^<>@\s]+@[^<>\s]+>",
    },
    # --- combinations -------------------------------------------------------------------
    {
        "id": "offer-and-pressure",
        "score": 1.0,
        "meta": "(loans || make-money || pharma || body-enhancement) && (act-now || free-offer || remove-instructions)",
        "describe": "an offer, pushed",
    },
]
