/**
 * Socket and link colours per ComfyUI type, matching the colours ComfyUI users know (its dark palette).
 */
const COLOURS: Record<string, string> = {
  CLIP: '#FFD500',
  CLIP_VISION: '#A8DADC',
  CLIP_VISION_OUTPUT: '#ad7452',
  CONDITIONING: '#FFA931',
  CONTROL_NET: '#6EE7B7',
  IMAGE: '#64B5F6',
  LATENT: '#FF9CF9',
  MASK: '#81C784',
  MODEL: '#B39DDB',
  MODEL_PATCH: '#9575CD',
  STYLE_MODEL: '#C2FFAE',
  VAE: '#FF6E6E',
  NOISE: '#B0B0B0',
  GUIDER: '#66FFFF',
  SAMPLER: '#ECB4B4',
  SIGMAS: '#CDFFCD',
  INT: '#29699c',
  FLOAT: '#29699c',
  STRING: '#77ff77',
  BOOLEAN: '#4e8c4e',
  COMBO: '#4e6e8c',
};

/** The colour for a socket type, or undefined to use litegraph's default. Unions take their first member's colour. */
export function slotColor(type: string): string | undefined {
  const key = type.split(',')[0]!.trim().toUpperCase();
  return COLOURS[key];
}

/**
 * Whether an output of type `output` may feed an input of type `input`, the way ComfyUI decides:
 * case-insensitive, `*` matches anything, and comma-separated unions match when any member matches.
 */
export function typesMatch(output: string, input: string): boolean {
  if (output === '*' || input === '*' || output === '' || input === '') return true;
  const outs = output.toUpperCase().split(',').map((s) => s.trim());
  const ins = input.toUpperCase().split(',').map((s) => s.trim());
  return outs.some((o) => ins.includes(o) || o === '*') || ins.includes('*');
}
