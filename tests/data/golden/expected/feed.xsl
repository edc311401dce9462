<?xml version="1.0" encoding="UTF-8"?>
<!-- Shows an Atom or RSS feed opened in a browser as a readable page. Feed readers ignore it. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="UTF-8" indent="yes"/>
  <xsl:template match="/">
    <xsl:variable name="title" select="/atom:feed/atom:title | /rss/channel/title"/>
    <html>
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/></title>
        <style>
          body { font: 16px/1.6 system-ui, sans-serif; max-width: 46rem; margin: 0 auto; padding: 1rem; color: #222; }
          .note { background: #fff7d6; border: 1px solid #e8d48a; padding: .75rem 1rem; border-radius: .4rem; }
          code { background: #f1f1f1; padding: .1rem .3rem; word-break: break-all; }
          li { margin: .6rem 0; } time { color: #666; font-size: .9em; }
        </style>
      </head>
      <body>
        <h1 dir="auto"><xsl:value-of select="$title"/></h1>
        <p class="note">This is a web feed. To subscribe, copy this page's address into your feed
          reader (Feedly, Inoreader, NetNewsWire, Thunderbird…).</p>
        <p dir="auto"><xsl:value-of select="/atom:feed/atom:subtitle | /rss/channel/description"/></p>
        <ol>
          <xsl:for-each select="/atom:feed/atom:entry">
            <li>
              <a href="{atom:link[not(@rel) or @rel='alternate']/@href}" dir="auto"><xsl:value-of select="atom:title"/></a>
              <xsl:text> </xsl:text><time><xsl:value-of select="substring(atom:published | atom:updated, 1, 10)"/></time>
            </li>
          </xsl:for-each>
          <xsl:for-each select="/rss/channel/item">
            <li>
              <a href="{link}" dir="auto"><xsl:value-of select="title"/></a>
              <xsl:text> </xsl:text><time><xsl:value-of select="pubDate"/></time>
            </li>
          </xsl:for-each>
        </ol>
      </body>
    </html>
  </xsl:template>
</xsl:stylesheet>
