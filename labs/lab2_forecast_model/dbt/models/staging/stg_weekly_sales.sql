with

source as (

    select * from {{ source('raw', 'weekly_sales') }}

),

renamed as (

    select
        week_start,
        sku,
        region,
        units,
        _source_file,
        _loaded_at
    from source

)

select * from renamed
