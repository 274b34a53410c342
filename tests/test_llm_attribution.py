"""LLM answers from models that ignore the citation format: attribution, fallback instead of refusal,
list/heading cleanup, the Persian search rendering, and the LangChain retriever/chain — all against the
local scripted OpenAI-compatible server (tests/fake_openai.py)."""
import pytest
from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda
from langchain_openai import ChatOpenAI

from bot.core.chain import NO_ANSWER_NOTE, UNVERIFIED_NOTE, build_retrieval_chain
from bot.core.checks import SentenceGate, check_text, citable_sources, states_asked_figure, support_for
from bot.core.citations import check_answer, flatten_markdown, foreign, is_no_answer, split_claims
from bot.core.extractive import REFUSAL, quote_passage
from bot.core.figures import numbers_found
from bot.core.qa import QA
from bot.core.retrieval import HybridSearcher, SearchOptions
from bot.core.retriever import HybridRetriever, result_from_documents
from bot.core.support import SupportCheck, names_found
from index.normalizer import tokenize

from .conftest import HAS_SHARED
from .fake_openai import last_user
from .test_llm import TARTUS, check_integrity_llm, llm_store, qa_for, server, source_number, sources_text  # noqa: F401

RASHT_FA = "مدارس این دو شهر روز دوشنبه تعطیل"


def is_answer_request(messages) -> bool:
    return bool(sources_text(messages))


def scripted(answer, translation: str = ""):
    """A reply function: `translation` for the Persian-rendering request, `answer(messages)` otherwise."""
    def reply(messages):
        if "Persian:" in last_user(messages) and not is_answer_request(messages):
            return translation
        return answer(messages)
    return reply


# ---- attribution ----------------------------------------------------------------------------------
def test_unmarked_sentence_is_attributed_to_its_passage(llm_store, server):
    server.reply = scripted(lambda m: "Schools in Tehran were closed because the air quality index rose above 160.")
    ans = qa_for(llm_store, server).answer("Why were schools closed in Tehran?")
    assert ans.mode == "llm" and not ans.refused and not ans.note, ans
    assert ans.answer.endswith("[1]") and len(ans.citations) == 1
    assert "air quality index rose above 160" in ans.citations[0].text
    assert ans.citations[0].attributed and ans.to_json()["citations"][0]["attributed"] is True
    check_integrity_llm(ans)


def test_model_markers_kept_and_wrong_marker_reattributed(llm_store, server):
    def answer(m):
        right, wrong = source_number(m, "400,000"), source_number(m, "air quality")
        return (f"Iran released 400,000 young sturgeon into the Caspian Sea [{right}]. "
                f"Wild sturgeon catches in the Caspian have fallen by more than 90 percent since the 1990s [{wrong}].")
    server.reply = scripted(answer)
    ans = qa_for(llm_store, server).answer("Why has Iran released young sturgeon into the Caspian Sea?")
    assert ans.mode == "llm" and "90 percent" in ans.answer, ans
    by_text = {c.n: c for c in ans.citations}
    assert not by_text[1].attributed and "400,000" in by_text[1].text  # the model's own marker, checked
    assert by_text[2].attributed and "90 percent" in by_text[2].text  # the wrong [n] replaced by the right source
    check_integrity_llm(ans)


@pytest.mark.skipif(not HAS_SHARED, reason="../shared is not present")
def test_issue_example_tartus_without_marker(llm_store, server):
    """The reported failure: a right answer without [n] used to become a refusal."""
    server.reply = scripted(lambda m: "Russia is seeking to establish a military base in Tartus.")
    ans = qa_for(llm_store, server).answer("What is Russia seeking in Tartus?")
    assert ans.mode == "llm" and not ans.refused, ans
    assert ans.citations and TARTUS in ans.citations[0].text and ans.citations[0].attributed


def test_a_marker_on_no_words_is_no_answer(embedder):
    """A reply of punctuation or invisible characters with a marker used to pass as "supported" (no
    word was missing from the passage) and was shown as the answer."""
    passages = ["Iran released 400,000 young sturgeon into the Caspian Sea on Monday."]
    support = SupportCheck(embedder, passages)
    for reply in ("\u202e\u200f [1]", "… [1]", "— [1]. Iran released 400,000 young sturgeon [1]."):
        checked = check_answer(reply, passages, support.supported, attribute=support.attribute)
        assert "\u202e" not in checked.text and not checked.text.startswith(("…", "—")), (reply, checked)
        assert checked.dropped >= 1
    kept = check_answer("— [1]. Iran released 400,000 young sturgeon [1].", passages, support.supported)
    assert kept.text == "Iran released 400,000 young sturgeon. [1]" and kept.used == [1], kept


def test_hostile_reply_text_is_never_shown(embedder):
    """Red-team replies: stopword fragments with a marker, links and markup riding on a supported
    sentence, and bidi/zero-width/escape characters inside one."""
    passages = ["Iran released 400,000 young sturgeon into the Caspian Sea on Monday."]
    support = SupportCheck(embedder, passages)

    def shown(reply: str) -> str:
        return check_answer(reply, passages, support.supported, attribute=support.attribute).text

    for fragment in ("The [1].", "After the [1].", "It [1].", "Sources: [1]"):
        assert shown(fragment) == "", fragment
    true = "Iran released 400,000 young sturgeon into the Caspian Sea on Monday"
    for riding in (f"{true}, details at https://evil.example/login [1].", f"[{true}](https://evil.example) [1].",
                   "Iran released <a href=x>400,000 young sturgeon</a> into the Caspian Sea [1].",
                   f"{true}, see www.evil.example [1]."):
        assert shown(riding) == "", riding
    hidden = shown("Iran released\u200b 400,000\u2063 young sturgeon into the\u202e Caspian Sea\x1b on Monday [1].")
    assert hidden.endswith("[1]") and all(ch not in hidden for ch in "\u200b\u2063\u202e\x1b"), hidden
    assert shown("بچه\u200cها 400,000 young sturgeon released [1].").count("\u200c") == 1  # ZWNJ is spelling
    assert shown("It was 400,000 [1].") == "It was 400,000. [1]"  # a bare figure is an answer
    tabbed = shown("Iran released\t400,000 young sturgeon [5\u200b].")  # a dangling marker hidden by a ZWSP
    assert "Iran released 400,000 young sturgeon" in tabbed and "[5]" not in tabbed, tabbed


def test_unsupported_unmarked_sentences_are_not_attributed(embedder):
    passages = ["بارش شدید باران در استان گیلان موجب آب‌گرفتگی معابر در رشت شد و مدارس تعطیل اعلام شدند.",
                "Iran released 400,000 young sturgeon into the Caspian Sea on Monday."]
    support = SupportCheck(embedder, passages)
    checked = check_answer("I hope this helps. The answer is in the sources. Sturgeon were flown to the Moon.",
                           passages, support.supported, attribute=support.attribute)
    assert checked.text == "" and checked.dropped == 3
    ok = check_answer("Schools in Rasht were closed because of heavy rain and flooding.", passages,
                      support.supported, attribute=support.attribute)
    assert ok.text.endswith("[1]") and ok.used == [1] and ok.attributed == [1]


# ---- fallback instead of refusal ------------------------------------------------------------------
def test_nothing_survives_means_quoting_not_refusing(llm_store, server):
    server.reply = scripted(lambda m: "The sturgeon were flown to the Moon by a rocket built of caviar [1].")
    ans = qa_for(llm_store, server).answer("Why has Iran released young sturgeon into the Caspian Sea?")
    assert not ans.refused and ans.mode == "extractive" and ans.note == UNVERIFIED_NOTE["en"], ans
    assert "Moon" not in ans.answer and any("400,000" in c.text for c in ans.citations)


def test_model_says_no_answer_but_retrieval_is_sure(llm_store, server):
    server.reply = scripted(lambda m: "The indexed articles do not say.")
    ans = qa_for(llm_store, server).answer("Why were schools closed in Tehran?")
    assert not ans.refused and ans.mode == "extractive" and ans.note == NO_ANSWER_NOTE["en"], ans
    assert any("air quality" in c.text for c in ans.citations)


def test_model_and_passages_agree_there_is_no_answer_over_english_news(llm_store, server):
    """An English question about the English sturgeon story that it does not answer (it names no head of the
    fisheries organisation): retrieval lets it through, and its top similarity, for a question and passage of one
    language, is not sure enough to outvote the model's "no answer" (it was, on the bar set for Persian news)."""
    server.reply = scripted(lambda m: "The indexed articles do not say.")
    ans = qa_for(llm_store, server).answer("Who runs Iran's fisheries organisation?")
    assert any(is_answer_request(r["messages"]) for r in server.requests)  # retrieval let it through
    assert ans.refused and ans.answer == REFUSAL["en"] and not ans.citations, ans


def test_nothing_relevant_is_refused_without_asking_the_model(llm_store, server):
    server.reply = scripted(lambda m: "Quantum chromodynamics explains the strong force [1].")
    ans = qa_for(llm_store, server).answer("What is the airspeed velocity of an unladen swallow?")
    assert ans.refused and ans.answer == REFUSAL["en"] and not ans.citations
    assert not any(is_answer_request(r["messages"]) for r in server.requests)


def test_no_answer_sentences_are_recognized():
    assert is_no_answer("The indexed articles do not say.") and is_no_answer("The sources don't mention the cost.")
    assert is_no_answer("خبرهای نمایه‌شده در این باره چیزی نمی‌گویند.") and is_no_answer("در منابع به این موضوع اشاره‌ای نشده است.")
    assert not is_no_answer("Russia wants to keep its bases in Syria.")
    assert check_answer("The articles do not mention it.", ["x"], lambda s, p: True).no_answer


# ---- lists and headings ---------------------------------------------------------------------------
def test_list_and_heading_output_becomes_sentences():
    text = ("### Why the schools closed\n**Answer:**\n1. **Air pollution:** The air quality index rose above 160 [1]\n"
            "2. Karaj and Shahriar were included\n- Trucks were barred [2]\n\nSources:\n[1] Tehran air")
    flat = flatten_markdown(text)
    assert flat == ("The air quality index rose above 160 [1]. Karaj and Shahriar were included. "
                    "Trucks were barred [2].")
    assert [c.sources for c in split_claims(flat)] == [[1], [], [2]]
    assert flatten_markdown("۱. مدارس رشت تعطیل شد\n۲. باران شدید بود.") == "مدارس رشت تعطیل شد. باران شدید بود."


def test_persian_numbered_list_without_markers(llm_store, server):
    """The issue's second case: a Persian numbered list with a heading and no markers."""
    server.reply = scripted(lambda m: "## پاسخ\n۱. بارش شدید باران در گیلان موجب آب‌گرفتگی معابر در رشت شد\n"
                                      "۲. مدارس رشت و بندرانزلی روز دوشنبه تعطیل اعلام شدند\n"
                                      "۳. فضاپیماها در ماه فرود آمدند")
    ans = qa_for(llm_store, server).answer("چرا مدارس رشت تعطیل شدند؟")
    assert ans.mode == "llm" and not ans.refused and ans.language == "fa", ans
    assert "۱." not in ans.answer and "#" not in ans.answer and "فضاپیما" not in ans.answer
    assert ans.citations and all(c.attributed for c in ans.citations)
    assert any(RASHT_FA in c.text for c in ans.citations)
    check_integrity_llm(ans)


# ---- English questions searched in Persian too ----------------------------------------------------
def test_english_question_also_searched_in_its_persian_rendering(llm_store, server):
    server.reply = scripted(lambda m: f"Schools in Rasht closed after heavy rain [{source_number(m, 'رشت')}].",
                            translation="علت تعطیلی مدارس رشت")
    question = "What happened to classes after the downpour?"
    assert "alt_queries" not in qa_for(llm_store, server).retrieve(question).timings_ms  # off by default
    assert not server.requests
    qa = qa_for(llm_store, server, llm_translate_timeout=10.0)
    result = qa.retrieve(question)
    assert "alt_queries" in result.timings_ms and "expand" in result.timings_ms
    assert question in last_user(server.requests[0]["messages"])
    def rasht(res):
        return next(((i, h.score) for i, h in enumerate(res.hits) if RASHT_FA in res.snap.text(h.pos)), (99, 0.0))

    without = QA(llm_store.settings, store=llm_store).retrieve(question)  # no LLM: no rendering
    # the Persian words keep the Rasht paragraph on top (in this small index it is near the top either way)
    assert rasht(result)[0] <= rasht(without)[0] <= 2, (rasht(result), rasht(without))
    server.reply = scripted(lambda m: "x", translation="Schools of Rasht")  # not Persian: ignored
    assert "alt_queries" not in qa.retrieve("Why did the schools shut in that northern city?").timings_ms
    server.reply = scripted(lambda m: "x", translation="چرا مدارس اردبیل تعطیل شد")  # the prompt's example echoed
    assert "alt_queries" not in qa.retrieve("Why did the schools shut in that northern city?").timings_ms
    fa = qa.retrieve("چرا مدارس رشت تعطیل شدند؟")  # Persian questions are not translated
    assert "alt_queries" not in fa.timings_ms


def test_alt_queries_merge_into_fusion(llm_store):
    searcher = HybridSearcher(llm_store)
    plain = searcher.search("zzqx unrelated words", SearchOptions())
    merged = searcher.search("zzqx unrelated words", SearchOptions(alt_queries=["آب‌گرفتگی معابر رشت"], alt_weight=1.0))
    assert "آب‌گرفتگی" in merged.snap.text(merged.hits[0].pos)
    # (two passages per article, so that a third of another Persian article does not hide the merged one)
    half = searcher.search("zzqx unrelated words", SearchOptions(alt_queries=["آب‌گرفتگی معابر رشت"],
                                                                 per_article_crosslingual=2))
    assert any("آب‌گرفتگی" in half.snap.text(h.pos) for h in half.hits)  # the default weighs the rendering less
    assert not plain.hits or "آب‌گرفتگی" not in plain.snap.text(plain.hits[0].pos)
    assert [h.pos for h in searcher.search("Tehran air quality", SearchOptions(alt_queries=[])).hits] == \
        [h.pos for h in searcher.search("Tehran air quality", SearchOptions()).hits]


# ---- the LangChain pieces, reusable outside Khabar --------------------------------------------------
def test_hybrid_retriever_is_a_langchain_retriever(llm_store):
    retriever = HybridRetriever(searcher=HybridSearcher(llm_store), options=SearchOptions(k=3))
    docs = retriever.invoke("Why were schools closed in Tehran?")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    assert "air quality" in docs[0].page_content and docs[0].metadata["url"].endswith("tehran-air-quality")
    result = result_from_documents(docs)
    assert [h.pos for h in result.hits] == [d.metadata["pos"] for d in docs] and result.top_dense > 0.7
    # the refusal signals survive the trip through the Documents (the chain decides refusal from them)
    direct = retriever.search("Why were schools closed in Tehran?")
    assert result.article_lead == direct.article_lead is not None
    assert result.signal_hits is not None and direct.signal_hits is not None
    assert [h.pos for h in result.signal_hits] == [h.pos for h in direct.signal_hits]
    # composes like any retriever in a user's own LCEL chain
    titles = (retriever | RunnableLambda(lambda ds: [d.metadata["title"] for d in ds])).invoke("Caspian sturgeon")
    assert any("sturgeon" in t.lower() for t in titles)


def test_retrieval_chain_with_the_local_server(llm_store, server, embedder):
    server.reply = scripted(lambda m: "Primary schools in Tehran closed because the air quality index rose above 160.")
    model = ChatOpenAI(model="fake", base_url=server.base_url, api_key="test", max_retries=0, timeout=5)
    retriever = HybridRetriever(searcher=HybridSearcher(llm_store))
    chain = build_retrieval_chain(retriever, model, embedder, lang="en")
    out = chain.invoke({"question": "Why were schools closed in Tehran?"})
    assert out["docs"] and "air quality" in out["sources"]
    assert out["raw"].startswith("Primary schools") and out["checked"].text.endswith("[1]")
    assert out["checked"].attributed == [1] and "air quality" in out["docs"][out["checked"].used[0] - 1].page_content
    request = server.requests[-1]
    assert request["stop"] and "\nQuestion:" in request["stop"]  # small models stop at echoed layout
    messages = request["messages"]
    assert messages[0]["role"] == "system" and messages[1]["role"] == "user" and messages[2]["role"] == "assistant"
    assert "Ardabil" in messages[2]["content"]  # the one-shot example


def test_names_must_be_in_the_cited_passage(embedder):
    """A small model carries names over from the one-shot example ("… in Ardabil") or invents them;
    embeddings do not notice, the name check does (in either script, by consonant skeleton)."""
    rasht = "بارش شدید باران در استان گیلان موجب آب‌گرفتگی معابر در رشت شد و مدارس تعطیل اعلام شدند."
    assert names_found("Schools in Rasht were closed because of heavy rain.", [rasht])
    assert not names_found("Schools in Ardabil were closed because of heavy rain.", [rasht])
    assert names_found("Officials in Tehran said schools would close.", ["Schools in Tehran will close, officials said."])
    support = SupportCheck(embedder, [rasht])
    assert support.supported("Schools in Rasht were closed because of heavy rain.", [rasht])
    assert not support.supported("Schools in Ardabil were closed because of heavy rain.", [rasht])
    assert support.attribute("Schools in Ardabil were closed because of heavy rain.") == []


def test_numbers_must_be_in_the_cited_passage(embedder):
    """Small models copy names right and figures wrong ("460 patients" where the article says ۲۴۲)."""
    passage = "Iran released 400,000 young sturgeon into the Caspian Sea on Monday."
    assert numbers_found("Iran released 400,000 sturgeon.", [passage])
    assert not numbers_found("Iran released 460,000 sturgeon.", [passage])
    assert numbers_found("۲۴۲ نفر از بیماران", ["242 نفر بيماران نارسایی کلیه"])
    support = SupportCheck(embedder, [passage], headers=["Sturgeon release 2025-09-22"])
    assert support.supported("Iran released 400,000 young sturgeon into the Caspian Sea in 2025.", [passage])
    assert not support.supported("Iran released 460,000 young sturgeon into the Caspian Sea.", [passage])


# ---- citation precision: cite the passage that answers --------------------------------------------
def test_quoted_fallback_cites_only_the_passage_that_answers(llm_store, server):
    """The quoted answer used to quote the best sentence of every near-tie passage (three citations,
    one holding the answer); it now quotes the one passage whose sentences answer."""
    server.reply = scripted(lambda m: "The schools were closed by the Moon [1].")
    ans = qa_for(llm_store, server).answer("Why were schools closed in Tehran?")
    assert ans.mode == "extractive" and ans.note == UNVERIFIED_NOTE["en"] and not ans.refused, ans
    assert len(ans.citations) == 1 and "air quality index rose above 160" in ans.citations[0].text
    assert "air quality index rose above 160" in ans.answer and "Moon" not in ans.answer
    check_integrity_llm(ans)


def test_quoted_fallback_quotes_retrievals_first_passage():
    question = "Which schools were closed in Tehran on Monday?"
    weights = {t: 1.0 for t in tokenize(question)}
    passages = ["Schools in Tehran were closed.", "Schools in Tehran were closed on Monday, officials said.",
                "Trucks were barred from the city."]
    assert [(p.passage, p.text) for p in quote_passage(passages, weights)] == [(0, passages[0])]
    assert [p.passage for p in quote_passage(passages[::-1], weights)] == [0]
    assert quote_passage([], weights) == []


def test_the_passage_a_rejected_answer_cited_does_not_steer_the_quote(llm_store, server):
    """A small model cites a wrong passage for an answer the checks reject; the quote still comes from
    retrieval's first passage (with a 1.5 B model that passage was right whenever the model's was wrong)."""
    seen = {}

    def answer(m):  # it cites the closure's other paragraph (its words answer too, but not the why)
        seen["karaj"] = source_number(m, "Karaj")
        return f"The schools were closed by the Moon [{seen['karaj']}]."
    server.reply = scripted(answer)
    qa = qa_for(llm_store, server)
    first = qa.retrieve("Why were schools closed in Tehran?")
    ans = qa.answer("Why were schools closed in Tehran?")
    assert seen["karaj"] not in (99, 1), "the Karaj paragraph should be a later source for this test"
    assert ans.mode == "extractive" and len(ans.citations) == 1, ans
    assert ans.citations[0].text == first.snap.text(first.hits[0].pos)
    check_integrity_llm(ans)


def test_sentence_copied_from_a_low_scored_passage_is_not_cited(llm_store, server):
    """Small models copy sentences from the stragglers at the end of the source list (another
    article, scored far below the rest): supported word for word, but no answer to the question."""
    seen = {}

    def answer(m):
        seen["air"], seen["rasht"] = source_number(m, "air quality"), source_number(m, "رشت")
        rasht = next(s for s in sources_text(m).split("\n") if "رشت" in s and not s.startswith("["))
        return (f"Schools in Tehran were closed because the air quality index rose above 160 [{seen['air']}]. "
                f"{rasht.strip(' …')} [{seen['rasht']}]")
    server.reply = scripted(answer)
    ans = qa_for(llm_store, server).answer("Why were schools closed in Tehran?")
    assert seen["rasht"] != 99, "the Rasht passage should be among the sources for this test"
    assert ans.mode == "llm" and ans.dropped_sentences == 1 and "رشت" not in ans.answer, ans
    assert len(ans.citations) == 1 and "air quality" in ans.citations[0].text
    check_integrity_llm(ans)


def test_citable_sources_are_the_passages_retrieval_scored_near_the_best(embedder):
    docs = [Document(page_content=t, metadata={"score": s}) for t, s in (("a", 1.0), ("b", 0.81), ("c", 0.3))]
    assert citable_sources(docs) == {1, 2}
    assert citable_sources([Document(page_content="a")]) is None  # another retriever: no scores, no filter
    support = SupportCheck(embedder, ["Schools in Rasht closed after heavy rain."], citable=set())
    assert support.attribute("Schools in Rasht closed after heavy rain.") == []
    checked = check_answer("Schools in Rasht closed after heavy rain [1].", ["Schools in Rasht closed after heavy rain."],
                           lambda s, t: True, citable=set())
    assert checked.text == "" and checked.dropped == 1


def test_of_several_markers_only_the_supporting_ones_stay(embedder):
    passages = ["Iran released 400,000 young sturgeon into the Caspian Sea on Monday.",
                "Heavy trucks were barred from entering Tehran until the air improves."]
    support = SupportCheck(embedder, passages)
    checked = check_answer("Iran released 400,000 young sturgeon into the Caspian Sea [1][2].", passages,
                           support.supported, attribute=support.attribute)
    assert checked.text.endswith("[1]") and checked.used == [1]


def test_sentences_that_only_repeat_the_question_are_not_answers(embedder):
    passages = ["Ayatollah Arafi said the Qom metro line will open this year, Fars reported.",
                "Iran released 400,000 young sturgeon into the Caspian Sea on Monday."]
    question = "Which public transport project does Ayatollah Arafi expect to open in Qom this year?"
    support = SupportCheck(embedder, passages, question=question)
    echo = "Ayatollah Arafi does expect a public transport project to open in Qom this year."
    assert not support.supported(echo, passages[:1]) and support.attribute(echo) == []
    assert support.supported("Arafi expects the Qom metro line to open this year.", passages[:1])


def test_answer_resting_only_on_a_side_passage_is_quoted_instead(llm_store, server):
    """A small model copies a true but beside-the-point sentence from a passage whose sentences do not
    answer the question; the answer then quotes the passage that does."""
    server.reply = scripted(lambda m: f"The fingerlings were raised at the Shahid Rajaei hatchery in Sari "
                                      f"[{source_number(m, 'hatchery')}].")
    ans = qa_for(llm_store, server).answer("Why has Iran released young sturgeon into the Caspian Sea?")
    assert ans.mode == "extractive" and ans.note == UNVERIFIED_NOTE["en"] and not ans.refused, ans
    assert "hatchery" not in ans.answer and len(ans.citations) == 1 and "400,000" in ans.citations[0].text


SCHOOL_DOCS = [
    ("Schools in Tehran were closed on Monday because the air quality index rose above 160.", 1.0),
    ("Schools in Karaj were closed on Monday because of heavy snow, the governor said.", 0.97),
]


def test_an_answer_must_cite_retrievals_first_passage(embedder):
    """A small model that answers from a later passage picked the wrong one far more often than
    retrieval did (measured: 7 right of 32); such an answer is rejected (the chain then quotes the first
    passage), while one citing the first passage keeps its other supported sentences."""
    question = "Why were schools closed on Monday?"
    weights = {t: 1.0 for t in tokenize(question)}
    docs = [Document(page_content=t, metadata={"score": s, "query_terms": weights}) for t, s in SCHOOL_DOCS]
    later = check_text("Schools were closed on Monday because of heavy snow [2].", docs, embedder, question)
    assert later.text == "" and later.used == [] and later.dropped == 1, later
    both = check_text("Schools in Tehran were closed because the air quality index rose above 160 [1]. "
                      "In Karaj, heavy snow closed the schools [2].", docs, embedder, question)
    assert both.used == [1, 2] and both.text.endswith("[2]"), both
    # without retrieval's scores (another retriever) the order means nothing: no such rule
    plain = [Document(page_content=t) for t, _ in SCHOOL_DOCS]
    assert check_text("Schools were closed on Monday because of heavy snow [2].", plain, embedder,
                      question).used == [2]


def test_a_sentence_in_the_other_language_is_not_shown(embedder):
    """A small model copies a Persian source sentence into its English answer: the language check read the
    answer as a whole (mostly English) and the copied sentence, supported by its passage, was shown."""
    docs = [Document(page_content=t, metadata={"score": s}) for t, s in (
        ("Schools in Rasht were closed on Monday because of heavy rain and flooded streets.", 1.0),
        ("بارش شدید باران در استان گیلان موجب آب‌گرفتگی معابر در رشت شد و مدارس تعطیل اعلام شدند.", 0.9))]
    reply = ("Schools in Rasht were closed because of heavy rain [1]. "
             "بارش شدید باران در استان گیلان موجب آب‌گرفتگی معابر در رشت شد [2].")
    mixed = check_text(reply, docs, embedder, "Why were schools in Rasht closed?")
    assert "رشت" in mixed.text  # without the answer's language both sentences pass
    checked = check_text(reply, docs, embedder, "Why were schools in Rasht closed?", "en")
    assert checked.text == "Schools in Rasht were closed because of heavy rain. [1]" and checked.used == [1]
    assert checked.dropped == 1, checked
    persian = check_text("بارش شدید باران موجب آب‌گرفتگی معابر در رشت شد [1]. Schools in Rasht were closed [2].",
                         docs[::-1], embedder, "چرا مدارس رشت تعطیل شدند؟", "fa")
    assert "Schools" not in persian.text and persian.used == [1] and persian.dropped == 1, persian


def test_the_stream_releases_each_checked_sentence_once(embedder):
    """Fed token by token, the gate lets out each supported sentence once, as written (not normalized),
    with its marker arriving after the stop ("… 160. [1]"), and never the injected one."""
    docs = [Document(page_content=t, metadata={"score": s}) for t, s in SCHOOL_DOCS]
    question = "Why were schools closed on Monday?"
    reply = ("Schools in Tehran were closed because the air quality index rose above 160. [1] Visit "
             "https://evil.example to log in. In Karaj, heavy snow closed the schools on Monday [2].")
    gate = SentenceGate(*support_for(docs, embedder, question), lang="en")
    streamed = [s for i in range(0, len(reply), 3) for s in gate.add(reply[i:i + 3])] + gate.feed(final=True)
    assert streamed == ["Schools in Tehran were closed because the air quality index rose above 160.",
                        "In Karaj, heavy snow closed the schools on Monday."], streamed


def test_mixed_script_sentences_are_not_foreign():
    assert not foreign("The festival is called «جشنواره بین‌المللی فجر» this year.", "en")
    assert not foreign("شرکت Samsung Electronics با Apple Inc قرارداد بست.", "fa")
    assert not foreign("Tartus.", "fa") and foreign("مدارس رشت به دلیل بارش باران تعطیل شدند.", "en")
    assert foreign("Schools in Rasht were closed because of rain.", "fa")


STADIUM_DOCS = [
    ("Tabriz opened its new football stadium on Friday, and the governor of Tabriz said the stadium "
     "would host the city's clubs from next season.", 1.0),
    ("Some 240 workers took part in the construction, working in two shifts through the winter.", 0.9),
    ("Twelve passengers were unhurt and 12 people were treated when a bus overturned near Shiraz.", 0.8),
]


def stadium_docs(question: str) -> list[Document]:
    weights = {t: 1.0 for t in tokenize(question)}
    return [Document(page_content=t, metadata={"score": s, "query_terms": weights, "date": "2025-11-03",
                                               "title": "Tabriz opens its new football stadium"})
            for t, s in STADIUM_DOCS]


def test_a_figure_the_question_asks_for_is_an_answer_in_a_side_passage(embedder):
    """The question's words describe the article (its lead); the asked number sits in a later paragraph
    they do not point at. A sentence restating the question with it answers a quantity question, while
    the same sentence for another question still rests on a side passage."""
    asked = "How many workers built the new football stadium in Tabriz?"
    docs = stadium_docs(asked)
    # the figure's paragraph is not retrieval's first passage: only the figure exception keeps it
    reply = "Some 240 workers took part in building the new stadium in Tabriz [2]."
    checked = check_text(reply, docs, embedder, asked)
    assert checked.text == "Some 240 workers took part in building the new stadium in Tabriz. [1]", checked
    assert checked.used == [2]
    other = "Why did the governor of Tabriz open the new football stadium?"
    assert check_text(reply, stadium_docs(other), embedder, other).text == ""
    # another story with a number in it is no answer to "how many": it restates nothing of the question
    stray = "12 people were treated when a bus overturned near Shiraz [3]."
    assert check_text(stray, stadium_docs("How many people built the new football stadium in Tabriz?"), embedder,
                      "How many people built the new football stadium in Tabriz?").text == ""


@pytest.mark.parametrize("text,question,expected", [
    ("Some 240 workers built the stadium [1].", "How many workers built the stadium?", True),
    ("The stadium opened in 2006 [1].", "In which year did the stadium open?", True),
    ("The stadium has 3 stands [1].", "Why did the 3 clubs move to the stadium?", False),  # not a quantity question
    ("The 3 clubs brought fans [1].", "How many fans did the 3 clubs bring?", False),  # only the question's number
    ("هزینه طرح‌ها 7 میلیارد و 860 میلیون تومان بود [1].", "برای طرح‌ها چه مبلغی هزینه شده است؟", True),
    # another story: it restates nothing of the question
    ("12 people were unhurt when a bus overturned near Shiraz [2].",
     "How many people died in the fire at the Mashhad shopping centre?", False),
    ("The report on the fire was published on 12 March [1].", "How many people died in the fire?", False),  # 12 what
    ("یک اتوبوس در مشهد واژگون شد [2].", "چند نفر در آتش‌سوزی مشهد جان باختند؟", False),  # یک is "a", no figure
    ("Some 240 skilled workers built the stadium [1].", "How many engineers built the stadium?", False),  # not engineers
])
def test_states_asked_figure(text, question, expected):
    assert states_asked_figure(text, question) is expected
