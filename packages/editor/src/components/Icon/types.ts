import type { IconName } from '../../lib/icons.ts';

export interface IconProps { name: IconName; size?: number }
