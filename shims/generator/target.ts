import { psr4ClassName } from './php-namespace.ts';

/**
 * What differs between the CMSs a shim is built for. The generator reads only this, so a
 * CMS is one more entry here (plus its templates), not a change to the emitters.
 */
export interface ShimTarget {
  /** Folder under shims/templates/ holding this CMS's glue. */
  templateDir: string;
  /** Where the shim lands under the build's --out directory. */
  outputDir: string;
  /** Where generated classes and templates/common/ go inside the shim. */
  includesDir: string;
  /** Where the admin-ui bundle goes inside the shim. */
  assetsDir: string;
  /** Class name prefix: `Keybridge_` + `Client` = `Keybridge_Client`. */
  classPrefix: string;
  /** File name of a class, by the CMS's convention. */
  classFile(className: string): string;
  /** The `@package` tag of generated files. */
  packageName: string;
  /**
   * The namespace the shared PHP (templates/common/ and the generated client and spec) is
   * emitted in, as PSR-4 classes (php-namespace.ts); absent: global `Keybridge_*` classes.
   */
  namespace?: string;
}

export const WORDPRESS: ShimTarget = {
  templateDir: 'wordpress',
  outputDir: 'wordpress/keybridge',
  includesDir: 'includes',
  assetsDir: 'assets',
  classPrefix: 'Keybridge_',
  // WordPress: `class-` + lower case with hyphens (Keybridge_Client → class-keybridge-client.php).
  classFile: (className) => `class-${className.toLowerCase().replace(/_/g, '-')}.php`,
  packageName: 'Keybridge',
};

export const DRUPAL: ShimTarget = {
  templateDir: 'drupal',
  outputDir: 'drupal/keybridge',
  // PSR-4: Drupal\keybridge\Common\AgentConnection is src/Common/AgentConnection.php.
  includesDir: 'src/Common',
  assetsDir: 'assets',
  classPrefix: 'Keybridge_',
  classFile: (className) => `${psr4ClassName(className)}.php`,
  // The same @package as the WordPress form: the shared PHP is one source.
  packageName: 'Keybridge',
  namespace: 'Drupal\\keybridge\\Common',
};

export const TARGETS: readonly ShimTarget[] = [WORDPRESS, DRUPAL];
