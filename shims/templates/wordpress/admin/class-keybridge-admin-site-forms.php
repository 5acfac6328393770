<?php
/**
 * The settings page's forms for this plugin's own operations.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Forms in the shape of spec.yaml's, for what WordPress does itself (Keybridge_Site_Operations):
 * protect an option, define a constant from a key, say who may read a key. The admin-ui
 * bundle draws them like the others; the REST route checks them like the others.
 */
class Keybridge_Admin_Site_Forms {

	/**
	 * The forms, texts translated.
	 *
	 * @return array[]
	 */
	public static function all() {
		return array(
			array(
				'id'         => 'protect',
				'operation'  => 'options.protect',
				'section'    => 'options',
				'shown_when' => 'registered',
				'title'      => __( 'Protect an option', 'keybridge' ),
				'help'       => __( 'Moves an existing option\'s value into keybridge and leaves only a reference in the database; the plugin that owns the option keeps reading and saving it as before. Earlier backups still hold the old value: change the secret at its source afterwards.', 'keybridge' ),
				'submit'     => __( 'Protect', 'keybridge' ),
				'fields'     => array(
					array(
						'name'     => 'option',
						'label'    => __( 'Option name', 'keybridge' ),
						'type'     => 'text',
						'required' => true,
						'help'     => __( 'As stored in the options table, e.g. smtp_password.', 'keybridge' ),
					),
				),
			),
			array(
				'id'         => 'constant',
				'operation'  => 'constants.map',
				'section'    => 'options',
				'shown_when' => 'registered',
				'title'      => __( 'Define a constant from a key', 'keybridge' ),
				'help'       => __( 'For plugins that read a secret from a PHP constant (such as WPMS_SMTP_PASS): a must-use plugin defines it from the key before plugins load. A constant already defined in wp-config.php is kept.', 'keybridge' ),
				'submit'     => __( 'Define', 'keybridge' ),
				'fields'     => array(
					array(
						'name'     => 'constant',
						'label'    => __( 'Constant', 'keybridge' ),
						'type'     => 'text',
						'required' => true,
						'pattern'  => '^[A-Za-z_][A-Za-z0-9_]{0,127}$',
					),
					array(
						'name'     => 'key',
						'label'    => __( 'Key', 'keybridge' ),
						'type'     => 'text',
						'required' => true,
					),
				),
			),
			array(
				'id'         => 'access',
				'operation'  => 'access.set',
				'section'    => 'keys',
				'shown_when' => 'registered',
				'title'      => __( 'Who may read a key', 'keybridge' ),
				'help'       => __( 'Only the code named here gets the value; any other gets nothing and the refusal is logged. A guard against mistakes, not against hostile code: anything running in WordPress can still reach the agent itself.', 'keybridge' ),
				'submit'     => __( 'Save', 'keybridge' ),
				'fields'     => array(
					array(
						'name'     => 'name',
						'label'    => __( 'Key', 'keybridge' ),
						'type'     => 'text',
						'required' => true,
					),
					array(
						'name'  => 'callers',
						'label' => __( 'Code that may read it', 'keybridge' ),
						'type'  => 'text',
						'help'  => __( 'plugin:<folder>, theme:<folder>, mu-plugin:<file> or core, separated by spaces; empty: any code again.', 'keybridge' ),
					),
				),
			),
		);
	}
}
