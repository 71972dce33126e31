/* Image-to-SVG answers (dots.mocr): the SVG code inside the model's text. */
#ifndef DOTS_DOC_SVG_H
#define DOTS_DOC_SVG_H

/* From the first "<svg" (or an "<?xml" declaration just before it) to the end of the last
 * "</svg>"; a Markdown code fence around it is left out with the rest. malloc'd; NULL when
 * the text holds no complete <svg ...>...</svg> (or on OOM). */
char *doc_svg_extract(const char *text);

#endif
