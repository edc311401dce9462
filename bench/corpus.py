"""A deterministic article corpus in the Hexo format of ../shared/samples/ (for the benchmark).

    python bench/corpus.py OUT_DIR --count 10000 [--seed 1]

Categories are drawn Zipf-like from ~100 hierarchical paths (Chinese and ASCII names, 1-3
levels); bodies are 2-10 KB of varied HTML like the sample's (style blocks, comments, QR-code
boilerplate, images, &#123; escapes); dates spread over three years in several shapes; every
article has its own thumbnail URL. The same arguments always give the same bytes.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

TOPS = ["金融", "科技", "汽车", "房产", "体育", "World", "Business", "Science", "Culture", "Health"]
SUBS = ["新浪财经", "美股", "A股", "港股", "基金", "半导体", "人工智能", "Cloud", "Markets", "Policy",
        "Energy", "Startups", "Research", "Football", "Basketball"]  # fmt: skip
LEAVES = ["国內", "国际", "Analysis", "Opinion", "Breaking", "Data"]
WORDS = ("market growth policy index earnings chip cloud model energy vehicle sales rate bank fund "
         "stock bond trade export research launch report quarter revenue profit").split()  # fmt: skip
HANZI = "国家管理局强化口岸边境管控精准做好今冬明春疫情防控工作市场经济增长政策指数科技公司发布新产品汽车销量同比上涨"
BOILERPLATE = """
<!-- 正文下iframe -->

<!-- 文末二维码 start -->
            <style>
            .appendQr_wrap&#123;border:1px solid #E6E6E6;padding:8px;&#125;
            .appendQr_normal img&#123;width:74px;&#125;
            </style>
            <div class="clearfix appendQr_wrap">
                <div class="appendQr_normal"><img src="https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png" referrerpolicy="no-referrer"></div>
                <div class="appendQr_normal_txt">海量资讯、精准解读，尽在新浪财经APP</div>
            </div>
<!-- 编辑姓名及工作代码 -->
<p class="article-editor">责任编辑：邓健 </p>
"""


def category_paths(rng: random.Random) -> list[list[str]]:
    paths: list[list[str]] = []
    for top in TOPS:
        paths.append([top])
        for sub in rng.sample(SUBS, 5):
            paths.append([top, sub])
            if rng.random() < 0.6:
                paths.append([top, sub, rng.choice(LEAVES)])
    return paths[:100]


def paragraph(rng: random.Random) -> str:
    if rng.random() < 0.6:
        text = "".join(rng.choice(HANZI) for _ in range(rng.randint(60, 200))) + "。"
    else:
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 90))).capitalize() + "."
    if rng.random() < 0.3:
        text = text.replace(text[10:14], f"<b>{text[10:14]}</b>", 1)
    return f'<p cms-style="font-L">　　{text}</p>'


def body(rng: random.Random, n: int) -> str:
    parts = ["<div>"]
    target = rng.randint(2000, 10000)
    size = 0
    while size < target:
        if rng.random() < 0.15:
            chunk = (
                f'<div class="img_wrapper"><img id="{n}" style="max-width: 640px;" '
                f'src="https://img.example.com/{n}/{size}.jpg" alt="图{n}" referrerpolicy="no-referrer">'
                f'<span class="img_descr">图片说明 {n}</span></div>'
            )
        elif rng.random() < 0.1:
            chunk = f"<!-- news_keyword_pub,stock,{n} -->\n<script>var x{n} = 1;</script>"
        else:
            chunk = paragraph(rng)
        parts.append(chunk)
        size += len(chunk.encode("utf-8"))
    parts.append(BOILERPLATE)
    parts.append("</div>")
    return "\n".join(parts)


def date_text(rng: random.Random, moment: datetime) -> str:
    shape = rng.randrange(4)
    if shape == 0:
        return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")
    if shape == 1:
        return moment.isoformat()
    if shape == 2:
        return (moment + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")  # naive, Asia/Shanghai
    return str(int(moment.timestamp()))


def article(rng: random.Random, n: int, paths: list[list[str]], weights: list[float]) -> str:
    start = datetime(2021, 1, 1, tzinfo=UTC)
    moment = start + timedelta(seconds=rng.randrange(3 * 365 * 86400))
    path = rng.choices(paths, weights)[0]
    cats = "\n".join(f" - {c}" for c in path)
    thumb = f"https://n.sinaimg.cn/spider{moment:%Y%m%d}/{n}/w1080h810/{n:06d}-{rng.getrandbits(64):016x}.jpg"
    title = "".join(rng.choice(HANZI) for _ in range(rng.randint(12, 30)))
    return (
        f"\n---\ntitle: '{title} {n}'\ncategories: \n{cats}\nheadimg: '{thumb}'\nauthor: 新浪财经\n"
        f"comments: false\ndate: {date_text(rng, moment)}\nthumbnail: '{thumb}'\n---\n\n{body(rng, n)}\n"
    )


def generate(out: Path, count: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    paths = category_paths(rng)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(paths))]
    for n in range(count):
        folder = out / f"{n // 1000:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{n:06d}_{rng.getrandbits(32):08x}.txt").write_text(
            article(rng, n, paths, weights), encoding="utf-8"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.out, args.count, args.seed)


if __name__ == "__main__":
    main()
