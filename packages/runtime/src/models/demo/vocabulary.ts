/**
 * The demo tokenizers' vocabulary: special tokens, colour words (with their RGB), a few hundred common prompt words,
 * and single letters and digits (plain and `##`-continued) so that any lowercase word still tokenizes into pieces:
 * different words give different ids, and so different pictures.
 */

/** Colour words and their colour as RGB in -1..1 (the demo T5 puts it in features 0..2). */
export const COLOUR_WORDS: Readonly<Record<string, readonly [number, number, number]>> = Object.freeze(
  Object.fromEntries(
    (
      [
        ['red', [230, 40, 40]],
        ['green', [40, 170, 60]],
        ['blue', [40, 80, 220]],
        ['yellow', [240, 220, 40]],
        ['orange', [245, 140, 30]],
        ['purple', [140, 50, 170]],
        ['violet', [150, 90, 220]],
        ['pink', [245, 150, 190]],
        ['magenta', [220, 40, 200]],
        ['cyan', [40, 210, 220]],
        ['teal', [30, 130, 130]],
        ['turquoise', [60, 210, 190]],
        ['navy', [20, 30, 100]],
        ['brown', [130, 80, 40]],
        ['beige', [225, 210, 170]],
        ['gold', [220, 180, 50]],
        ['golden', [225, 185, 60]],
        ['silver', [190, 190, 200]],
        ['black', [10, 10, 10]],
        ['white', [250, 250, 250]],
        ['grey', [128, 128, 128]],
        ['gray', [128, 128, 128]],
        ['crimson', [180, 20, 50]],
        ['scarlet', [240, 40, 20]],
        ['lime', [160, 230, 50]],
        ['olive', [120, 120, 40]],
        ['maroon', [110, 20, 30]],
        ['indigo', [70, 40, 140]],
        ['lavender', [190, 170, 230]],
        ['peach', [250, 190, 150]],
        ['coral', [250, 120, 90]],
        ['amber', [250, 180, 20]],
        ['emerald', [40, 170, 110]],
        ['sapphire', [30, 70, 170]],
        ['ruby', [200, 20, 70]],
        ['rust', [180, 80, 40]],
        ['sky', [120, 180, 240]],
        ['ocean', [30, 100, 170]],
        ['forest', [30, 100, 40]],
        ['sunset', [250, 110, 60]],
        ['fire', [240, 90, 20]],
        ['snow', [245, 248, 255]],
        ['night', [20, 20, 50]],
        ['dark', [40, 40, 40]],
        ['bright', [230, 230, 230]],
        ['pastel', [220, 200, 220]],
        ['neon', [120, 250, 80]],
      ] as const
    ).map(([w, [r, g, b]]) => [w, [r / 127.5 - 1, g / 127.5 - 1, b / 127.5 - 1] as const]),
  ),
);

/** Other words: subjects, shapes, styles, media and the small words of prompts. */
const WORDS = `
a an the of in on at with and or by for from to into over under near behind above below without
is are be as it its this that these those very more most some many few one two three four five
photo photograph picture image painting drawing sketch illustration render rendering artwork art poster print
style styled stylized in-the-style portrait landscape still life scene view close-up closeup shot wide
oil watercolor watercolour acrylic ink pencil charcoal pastels crayon digital vector pixel mosaic collage woodcut
impressionist impressionism expressionist cubist cubism surreal surrealism abstract minimalist minimal realistic
photorealistic hyperrealistic cartoon anime manga comic vintage retro modern classic baroque gothic art-deco
pop flat detailed intricate simple soft hard smooth rough textured glossy matte sharp blurry
light shadow shadows lighting sunlight moonlight glow glowing shiny colorful colourful vivid muted warm cool cold
high low contrast saturated desaturated monochrome sepia noir cinematic dramatic calm
circle circles square squares triangle triangles rectangle star stars heart hearts line lines dot dots stripe
stripes stripes grid wave waves spiral pattern patterns shape shapes ring rings cube sphere cone diamond cross
cat cats dog dogs bird birds fish horse cow fox bear rabbit lion tiger owl butterfly dragon robot
man woman person people child girl boy face eyes hair hand hands smile
house houses city street building buildings castle tower bridge road car train boat ship plane
tree trees flower flowers rose roses leaf leaves grass garden field mountain mountains hill river lake sea
beach sand desert island cloud clouds rain storm sun moon water stone rock wood glass metal paper
cup bottle chair table book lamp window door wall floor room kitchen
big small large tiny tall short long round old new young beautiful pretty cute happy sad lonely quiet
morning evening day winter summer spring autumn fall
masterpiece best quality highly professional lens bokeh hdr 4k 8k
`;

/** Punctuation tokens (the BERT pre-tokenizer splits them off words). */
const PUNCTUATION = [',', '.', '!', '?', ':', ';', '-', "'", '"', '(', ')', '/', '&'];

const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');

/** The ordinary (non-special) tokens of both demo tokenizers, in id order after the specials. */
export function demoWordTokens(): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (t: string) => {
    if (!seen.has(t)) {
      seen.add(t);
      out.push(t);
    }
  };
  for (const w of Object.keys(COLOUR_WORDS)) add(w);
  for (const w of WORDS.split(/\s+/)) if (w !== '' && !w.includes('-')) add(w);
  for (const p of PUNCTUATION) add(p);
  for (const l of LETTERS) add(l);
  for (const l of LETTERS) add(`##${l}`);
  return out;
}
