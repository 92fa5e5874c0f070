/** `superlora presets [NAME]`: print the named configs, ready to save and edit. */
import type { Command } from 'commander';
import { presetConfig, presetNames } from '../../presets';

export function registerPresetsCommand(program: Command): void {
  program
    .command('presets [name]')
    .description('print the preset configs (paper Table 1), or one of them as JSON')
    .action((name?: string) => {
      if (name !== undefined) {
        console.log(JSON.stringify(presetConfig(name), null, 2));
        return;
      }
      for (const preset of presetNames)
        console.log(`${preset.padEnd(22)} ${JSON.stringify(presetConfig(preset))}`);
    });
}
